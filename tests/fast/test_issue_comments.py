"""The gateway's issue-comment reactions, wired by the real ``Consumer`` (in-memory broker, and
again on real NATS with PostgreSQL), posting to a local server that answers the documented
GitHub and Gitea comment endpoints (``tests/git_host_api.py``, which names the sections)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from uuid import UUID, uuid4

import httpx
import pytest

from bdg_contracts import commands as cmd
from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bdg_gateway.issue_comments import reactions
from bdg_gateway.issue_jobs import IssueJobs
from bdg_gateway.issue_payloads import Issue
from bdg_gateway.issue_settings import HostAccess, IssueTriggers, TenantIssues
from bdg_gateway.webhook_payloads import ProviderName
from bdg_jobs.application import utc_now
from bdg_jobs.domain import Cause
from bdg_jobs.user_commands import Caller, JobCommands
from bdg_runtime.reactions import Delivery
from tests.fast.harness import FastStack
from tests.git_host_api import GitHost, git_host
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(60)
TOKEN = "test-token-" + secrets.token_hex(8)
FULL_NAME, NUMBER = "acme/app", 7


@pytest.fixture(name="host")
def host_fixture() -> Iterator[GitHost]:
    with git_host(TOKEN, {(FULL_NAME, NUMBER)}) as host:
        yield host


@pytest.fixture(name="http")
async def http_fixture() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def triggers_for(tenant: str, host: GitHost, token: str = TOKEN) -> IssueTriggers:
    github = HostAccess(token=token, api_url=host.github_api)
    gitea = HostAccess(token=token, api_url=host.gitea_api)
    return IssueTriggers(tenants={tenant: TenantIssues(github=github, gitea=gitea)})


def issue(provider: ProviderName) -> Issue:
    return Issue(provider, "d-1", "opened", NUMBER, "t", "b", ("bdg",), FULL_NAME, ("u",))


def cause() -> Cause:
    return Cause(producer="planner", occurred_at=utc_now())


async def plan_ready(stack: FastStack, tenant: str) -> tuple[UUID, Event]:
    """A job whose plan is ready, decided as the planner decides it."""
    job = await JobCommands(stack.app).create(Caller(tenant, "u"), cmd.RequestJob(goal="g"))
    await stack.app.execute(job.job_id, lambda j: j.make_plan_ready(cause(), "## Plan\n- a"))
    return job.job_id, stack.store.history(job.job_id)[-1]


@pytest.mark.parametrize("provider", ["github", "gitea"])
async def test_the_plan_is_commented_once_on_its_issue(
    stack: FastStack,
    database_url: str,
    host: GitHost,
    http: httpx.AsyncClient,
    provider: ProviderName,
) -> None:
    tenant = "t" + secrets.token_hex(5)
    links = IssueJobs(database_url)
    handlers = list(reactions(triggers_for(tenant, host), links, http, max_deliver=3))
    stack.serve("gateway", handlers)
    async with stack.running():
        job_id = uuid4()
        # The webhook links the job before it creates it; here the job's id comes first.
        job = await JobCommands(stack.app).create(
            Caller(tenant, "u"), cmd.RequestJob(goal="g"), job_id
        )
        await links.link(job.job_id, tenant, issue(provider))
        await stack.app.execute(job_id, lambda j: j.make_plan_ready(cause(), "## Plan\n- a"))

        async def commented() -> bool:
            return len(host.comments) == 1

        await eventually(commented, 20, "the plan comment")
        [comment] = host.comments
        assert (comment.provider, comment.full_name, comment.number) == (provider, FULL_NAME, 7)
        assert comment.body.endswith("## Plan\n- a")
        scheme = "Bearer" if provider == "github" else "token"
        assert comment.headers["authorization"] == f"{scheme} {TOKEN}"
        if provider == "github":
            assert comment.headers["accept"] == "application/vnd.github+json"
            assert comment.headers["x-github-api-version"] == "2022-11-28"
        # A redelivery of the same event (another replica, a lost ack) posts nothing.
        [plan] = [e for e in stack.store.history(job_id) if isinstance(e, ev.PlanReady)]
        await handlers[0].handle(Delivery("gateway", plan, stack.app, attempt=2))
        assert len(host.comments) == 1
        # The token is in no event.
        assert all(TOKEN not in e.model_dump_json() for e in stack.store.history(job_id))


async def test_a_job_no_issue_started_gets_no_comment(
    stack: FastStack, database_url: str, host: GitHost, http: httpx.AsyncClient
) -> None:
    tenant = "t" + secrets.token_hex(5)
    handlers = list(reactions(triggers_for(tenant, host), IssueJobs(database_url), http, 3))
    _, plan = await plan_ready(stack, tenant)
    await handlers[0].handle(Delivery("gateway", plan, stack.app))
    assert host.comments == []


async def test_a_refused_token_is_retried_then_given_up_without_failing_the_job(
    stack: FastStack, database_url: str, host: GitHost, http: httpx.AsyncClient
) -> None:
    tenant = "t" + secrets.token_hex(5)
    links = IssueJobs(database_url)
    handlers = list(reactions(triggers_for(tenant, host, "wrong"), links, http, max_deliver=2))
    job_id, plan = await plan_ready(stack, tenant)
    await links.link(job_id, tenant, issue("gitea"))
    with pytest.raises(Exception, match="gitea answered 401"):
        await handlers[0].handle(Delivery("gateway", plan, stack.app, attempt=1))
    # The claim was released: the last delivery tries again, then only logs.
    await handlers[0].handle(Delivery("gateway", plan, stack.app, attempt=2))
    assert host.comments == []
    # With the right token (configuration fixed), the event is commented after all.
    fixed = list(reactions(triggers_for(tenant, host), links, http, max_deliver=2))
    await fixed[0].handle(Delivery("gateway", plan, stack.app, attempt=3))
    assert len(host.comments) == 1
    assert not any(isinstance(e, ev.StepFailed) for e in stack.store.history(job_id))


async def test_an_unreachable_database_is_retried_then_only_logged(
    stack: FastStack, host: GitHost, http: httpx.AsyncClient
) -> None:
    """Whatever fails (here the link table's database), the last delivery does not raise, so
    the consumer records no StepFailed on the job."""
    tenant = "t" + secrets.token_hex(5)
    gone = IssueJobs("postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=2")
    handlers = list(reactions(triggers_for(tenant, host), gone, http, max_deliver=2))
    _, plan = await plan_ready(stack, tenant)
    with pytest.raises(Exception, match=r"127\.0\.0\.1"):
        await handlers[0].handle(Delivery("gateway", plan, stack.app, attempt=1))
    await handlers[0].handle(Delivery("gateway", plan, stack.app, attempt=2))
    assert host.comments == []

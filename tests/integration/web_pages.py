"""Jobs and a site in the states the web app's pages show, for the browser tests: a plan that
waits for approval, a deploy that waits with two changed files (one long enough for Monaco to
fold its unchanged lines) and a test run whose fail-to-pass check proved the change, a job
whose coding failed, and a site with a canary."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import httpx
from playwright.async_api import Browser, BrowserContext

from bdg_contracts import events as ev
from bdg_contracts.states import Step
from bdg_jobs.domain import Cause, Job
from tests.gateway_stack import Keys, Stack
from tests.integration.gateway_calls import create
from tests.site_history import BuiltSite, project_sites, site_in_canary

PLAN = "# Plan\n\n- [ ] add the `/health` route\n- [ ] test it\n"
BEFORE = [f"    value_{n} = {n}" for n in range(1, 41)]
LONG_PATCH = "\n".join(
    [
        "--- a/src/app.py",
        "+++ b/src/app.py",
        "@@ -1,40 +1,40 @@",
        *(" " + line for line in BEFORE[:19]),
        "-" + BEFORE[19],
        "+    value_20 = 'twenty'",
        *(" " + line for line in BEFORE[20:]),
        "",
    ]
)
CSS_PATCH = "--- a/web/style.css\n+++ b/web/style.css\n@@ -1 +1 @@\n-a { }\n+a { color: red; }\n"

# the tester's fail-to-pass check of the deploy job's change, shown on its attempts view
PROVEN = ev.FailToPass(
    verdict="proven",
    tests=(ev.FlippedTest(test="tests.test_app::test_twenty", before="failed"),),
    test_files=("tests/test_app.py",),
    note="1 test(s) fail on the base code and pass on the change",
)


def plan_waits(job: Job, cause: Cause) -> None:
    job.draft_plan(cause, PLAN, iteration=1)
    job.critique_plan(cause, iteration=1, score=8, risks=("no test of the route",))
    job.make_plan_ready(cause, PLAN)


def coding_failed(job: Job, cause: Cause) -> None:
    job.make_plan_ready(cause, PLAN)
    job.approve_plan(cause, "alice")
    job.fail_step(cause, Step.coding, "coder", "the model gave up", job.version)


def deploy_waits(job: Job, cause: Cause) -> None:
    job.make_plan_ready(cause, PLAN)
    job.approve_plan(cause, "alice")
    job.change_files(cause, LONG_PATCH, ("src/app.py",))
    job.change_files(cause, CSS_PATCH, ("web/style.css",))
    job.finish_coding(cause, "value_20 spelled out")
    job.pass_tests(cause, ev.TestResults(total=3, fail_to_pass=PROVEN))
    job.complete_review(cause, approved=True, score=9, notes="fine")
    job.await_deploy_approval(cause, target="preview")


@dataclass(frozen=True)
class Pages:
    tenant: str
    token: str
    plan_job: UUID
    deploy_job: UUID
    failed_job: UUID
    site: BuiltSite


async def pages_of(client: httpx.AsyncClient, keys: Keys, stack: Stack, tenant: str) -> Pages:
    plan_job = UUID((await create(client, keys, tenant, plan_approval="gated"))["id"])
    await stack.decide(plan_job, plan_waits)
    deploy_job = UUID((await create(client, keys, tenant))["id"])
    await stack.decide(deploy_job, deploy_waits)
    failed_job = UUID((await create(client, keys, tenant))["id"])
    await stack.decide(failed_job, coding_failed)
    site = await site_in_canary(stack.store, tenant)
    project_sites(stack.store, stack.database_url)
    token = keys.token(tenant, sub="alice", expires_in=600)
    return Pages(tenant, token, plan_job, deploy_job, failed_job, site)


async def window(
    browser: Browser, token: str | None, scheme: str = "light", csp: bool = True
) -> BrowserContext:
    """A 1024x768 window (the narrowest the app supports), signed in when a token is given;
    ``csp=False`` lifts the app's CSP for axe's script."""
    context = await browser.new_context(
        viewport={"width": 1024, "height": 768},
        color_scheme="dark" if scheme == "dark" else "light",
        bypass_csp=not csp,
    )
    if token:
        await context.add_init_script(f"localStorage.setItem('bdg.token', {token!r})")
    return context

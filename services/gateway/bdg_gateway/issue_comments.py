"""The agent answers on the issue that started a job: the plan, the test result, the preview and
the deploy outcome (deployed, rolled back, or a step that failed), as issue comments through
the git host's REST API.

Where it runs: in the gateway, as runtime reactions (``service.run``'s durable JetStream
consumers, shared by every gateway replica). The gateway already owns both ends: the issue
webhook that links a job to its issue, and the operator's per-tenant issue configuration with
the tokens. A new service would need its own process, settings and supervision for four small
reactions; a step service (planner, tester, deployer) would mix a side channel into its step.

Posting is once per event: the event is claimed in ``bdg_issue_comments`` before the POST and
released if it fails, so a redelivery retries it and a second replica skips it. A host that keeps
failing costs a missing comment, never the job: the last delivery logs and gives up.

The endpoints, as documented:
- GitHub: "Create an issue comment", ``POST /repos/{owner}/{repo}/issues/{issue_number}/comments``
  (docs.github.com/en/rest/issues/comments#create-an-issue-comment): JSON ``{"body": ...}``,
  ``Authorization: Bearer <token>``, ``Accept: application/vnd.github+json``,
  ``X-GitHub-Api-Version: 2022-11-28``; 201 Created.
- Gitea: ``issueCreateComment``, ``POST /repos/{owner}/{repo}/issues/{index}/comments`` under
  ``/api/v1`` (the API's swagger, docs.gitea.com "API Usage", section "Authentication"):
  JSON ``{"body": ...}``, ``Authorization: token <token>``; 201 Created.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import httpx

from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bdg_contracts.states import Step
from bdg_gateway.issue_jobs import IssueJobs, IssueLink
from bdg_gateway.issue_settings import IssueTriggers
from bdg_runtime.reactions import AnyReaction, Delivery, Handler, Reaction

log = logging.getLogger(__name__)
POST_TIMEOUT_SECONDS = 15.0
# Longer than a post and its two queries, so the handler's own give-up runs before the
# consumer's timeout (which would count as a failed step).
REACTION_TIMEOUT_SECONDS = 4 * POST_TIMEOUT_SECONDS
MAX_COMMENT_CHARS = 60_000  # GitHub refuses a comment body over 65,536 characters


def _tail(text: str, limit: int) -> str:
    return text if len(text) <= limit else "…" + text[-limit:]


def screenshot_url(public_url: str, event: ev.TestsPassed | ev.TestsFailed) -> str:
    """Where the gateway serves the test run's screenshot (to the job's tenant only; another
    tenant gets 404): absolute under ``public_url``, else the gateway's own path."""
    return f"{public_url.rstrip('/')}/jobs/{event.job_id}/screenshots/{event.results.screenshot}"


def comment_for(event: Event, public_url: str = "") -> str | None:
    """The comment an event earns on its issue, or None. ``public_url``: the gateway's address
    as people reach it (``BDG_PUBLIC_URL``), so the links in the comment open."""
    body: str | None = None
    if isinstance(event, ev.PlanReady):
        body = f"**BigDaddyG: the plan is ready**\n\n{event.plan_markdown}"
    elif isinstance(event, ev.TestsPassed | ev.TestsFailed):
        r = event.results
        verdict = "passed" if isinstance(event, ev.TestsPassed) else "failed"
        coverage = "" if r.coverage is None else f", coverage {r.coverage:.1f}%"
        body = (
            f"**BigDaddyG: tests {verdict}** (attempt {event.attempt}): "
            f"{r.total - r.failed} of {r.total} passed{coverage}"
        )
        if r.browser and r.screenshot and public_url:
            page = f"{public_url.rstrip('/')}/app/jobs/{event.job_id}"
            shot = f"[screenshot]({screenshot_url(public_url, event)})"
            body += f"\n\n{r.browser} ({shot}, shown on the [job's page]({page}))"
        elif r.browser:  # no public address known: the gateway's path
            shot = f" (screenshot: `{screenshot_url('', event)}`)"
            body += f"\n\n{r.browser}{shot if r.screenshot else ''}"
        if isinstance(event, ev.TestsFailed) and event.analysis:
            body += f"\n\n{event.analysis}"
        if r.output_tail:
            body += f"\n\n```\n{_tail(r.output_tail, 3_000)}\n```"
    elif isinstance(event, ev.DeployAwaitingApproval):
        preview = f" Preview: {event.preview}" if event.preview else ""
        body = f"**BigDaddyG: ready to deploy to {event.target}**, waiting for approval.{preview}"
    elif isinstance(event, ev.Deployed) and event.branch is not None and event.branch_only:
        b = event.branch
        pr = f": pull request {b.pull_request}" if b.pull_request else f" in {b.repository}"
        body = f"**BigDaddyG: delivered as branch `{b.branch}`**{pr} (no site to publish)"
    elif isinstance(event, ev.Deployed):
        body = f"**BigDaddyG: deployed** at {event.url}" + (" (canary)" if event.canary else "")
    elif isinstance(event, ev.RolledBack):
        body = "**BigDaddyG: rolled back**" + (f" to {event.to_url}" if event.to_url else "")
    elif isinstance(event, ev.StepFailed):
        body = f"**BigDaddyG: the {event.step.value} step failed**\n\n{_tail(event.reason, 3_000)}"
    return None if body is None else body[:MAX_COMMENT_CHARS]


COMMENTED: tuple[type[Event], ...] = (
    ev.PlanReady, ev.TestsPassed, ev.TestsFailed, ev.DeployAwaitingApproval, ev.Deployed,
    ev.RolledBack, ev.StepFailed,
)  # fmt: skip


class HostError(RuntimeError):
    """The host did not create the comment (its status and message, never the token)."""


def request_for(
    provider: str, api_url: str, token: str, link: IssueLink
) -> tuple[str, dict[str, str]]:
    url = f"{api_url}/repos/{link.full_name}/issues/{link.number}/comments"
    if provider == "github":
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
    else:
        headers = {"Authorization": f"token {token}", "Accept": "application/json"}
    return url, headers


async def post_comment(
    client: httpx.AsyncClient, triggers: IssueTriggers, link: IssueLink, body: str
) -> None:
    config = triggers.for_tenant(link.tenant)
    host = None if config is None else config.host(link.provider)
    api_url = None if config is None else config.api_url(link.provider)
    if host is None or api_url is None:
        raise HostError(f"tenant {link.tenant} has no {link.provider} issue configuration now")
    url, headers = request_for(link.provider, api_url, host.token.get_secret_value(), link)
    response = await client.post(url, json={"body": body}, headers=headers)
    if response.status_code != 201:
        raise HostError(f"{link.provider} answered {response.status_code}: {response.text[:300]}")


def reactions(
    triggers: IssueTriggers,
    links: IssueJobs,
    client: httpx.AsyncClient,
    max_deliver: int,
    public_url: str = "",
) -> Sequence[AnyReaction]:
    """One reaction per commented event class; none when no tenant configured issues."""
    if not triggers.tenants:
        return []

    async def comment(event: Event) -> None:
        body = comment_for(event, public_url)
        link = await links.linked(event.job_id)
        if body is None or link is None:
            return
        if not await links.claim_comment(event.event_id, event.job_id):
            return  # commented before: a redelivery, or another replica
        try:
            await post_comment(client, triggers, link, body)
        except BaseException:
            await links.release_comment(event.event_id)
            raise

    def handler(cls: type[Event]) -> Handler[Event]:
        async def handle(delivery: Delivery[Event]) -> None:
            try:
                await comment(delivery.event)
            except Exception as error:
                if delivery.attempt < max_deliver:
                    raise
                # A comment is a courtesy: the last delivery logs instead of raising, so the
                # consumer never records a StepFailed (the job goes on without the comment).
                log.error(
                    "no %s comment for job %s: %s", cls.__name__, delivery.event.job_id, error
                )

        return handle

    return [
        Reaction(
            cls,
            Step.planning,  # never used: the handler does not raise at the last delivery
            handler(cls),
            timeout=REACTION_TIMEOUT_SECONDS,
            name=f"issue-comment-{cls.__name__}",
        )
        for cls in COMMENTED
    ]

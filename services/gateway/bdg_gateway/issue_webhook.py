"""An ``issues`` webhook (GitHub, Gitea) becomes a job, as the push webhook becomes RepoPushed.

The same credential as a push: the signature against a registration's secret, so only the
repository's own webhook can start a job for the tenant that registered it. The tenant must also
have configured issue triggers for that host (``issue_settings``) and the issue must carry the
tenant's label. One job per issue (``issue_jobs.job_id_for``): a redelivery, or ``opened`` and
``labeled`` for one issue, starts it once. Every refusal is answered before anything is written.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from bdg_contracts import commands as cmd
from bdg_gateway import issue_payloads as ip
from bdg_gateway import webhook_payloads as wp
from bdg_gateway.index_views import WebhookAnswer
from bdg_gateway.issue_jobs import IssueJobs, job_id_for
from bdg_gateway.issue_settings import IssueTriggers
from bdg_jobs.errors import ConcurrencyConflictError, RepoNotFoundError
from bdg_jobs.repo_commands import RepoCommands
from bdg_jobs.user_commands import Caller, JobCommands


def _answer(status: int, answer: WebhookAnswer) -> JSONResponse:
    return JSONResponse(answer.model_dump(mode="json"), status_code=status)


def request_for(issue: ip.Issue, repo: str, ref: str) -> cmd.RequestJob:
    """The job's request, validated as any goal typed in the UI (422 naming the field)."""
    try:
        return cmd.RequestJob(goal=issue.goal, repo=repo, base_ref=ref)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        where = "the issue's title and body" if field == "goal" else field
        raise HTTPException(422, f"{field} ({where}): {first['msg']}") from None


async def receive(
    delivery: wp.Delivery,
    body: bytes,
    content_type: str,
    repos: RepoCommands,
    commands: JobCommands,
    triggers: IssueTriggers,
    links: IssueJobs,
) -> JSONResponse:
    try:
        issue = ip.parse_issue(delivery, body, content_type)
    except wp.WebhookError as error:
        raise HTTPException(400, str(error)) from None
    if not delivery.credential:
        raise HTTPException(401, f"unsigned: no {delivery.credential_header} header")
    candidates = await repos.hooks_for(issue.lookup_urls())
    accepted = [(r, t) for r, t, secret in candidates if wp.authentic(delivery, body, secret)]
    if not accepted:
        raise HTTPException(401, "no registration of this repository accepts this signature")
    started: list[UUID] = []
    duplicates: list[UUID] = []
    reasons: list[str] = []
    for repo_id, tenant in accepted:
        config = triggers.for_tenant(tenant)
        if config is None or config.host(issue.provider) is None:
            reasons.append(f"no issue trigger is configured for {issue.provider}")
            continue
        why = ip.not_starting(issue, config.label)
        if why is not None:
            reasons.append(why)
            continue
        try:
            index = await repos.get(tenant, repo_id)
        except RepoNotFoundError:  # a secret whose registration never reached the log
            continue
        request = request_for(issue, index.repo, index.ref)
        caller = Caller(tenant, f"webhook:{issue.provider}")
        job_id = job_id_for(repo_id, issue)
        # Checked before the link is written, so a refused repository leaves nothing behind.
        await commands.check_repo(caller, request.repo)
        # The link first: the comment poster must find it when the plan is ready.
        await links.link(job_id, tenant, issue)
        try:
            await commands.create(caller, request, job_id)
        except ConcurrencyConflictError:  # this issue's job exists: a redelivery
            duplicates.append(job_id)
        else:
            started.append(job_id)
    if started:
        return _answer(202, WebhookAnswer(jobs=started))
    if duplicates:
        return _answer(200, WebhookAnswer(jobs=duplicates, duplicate=True))
    return _answer(202, WebhookAnswer(ignored="; ".join(reasons) or "no registration found"))

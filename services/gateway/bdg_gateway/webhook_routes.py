"""``POST /webhooks/git``: a provider's push becomes ``RepoPushed`` on each registration it
concerns; an ``issues`` event (GitHub, Gitea) may start a job (``issue_webhook``).
No JWT: the provider's signature (or GitLab's token) against the registration's secret is the
credential. Every refusal is answered before anything is written.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from bdg_contracts.ids import new_event_id
from bdg_gateway import issue_payloads, issue_webhook
from bdg_gateway import webhook_payloads as wp
from bdg_gateway.index_deps import Repos
from bdg_gateway.index_views import WEBHOOK_PATH, WebhookAnswer
from bdg_gateway.strict_json import StrictJsonRoute
from bdg_jobs.domain import Cause
from bdg_jobs.errors import RepoNotFoundError
from bdg_jobs.repo_commands import RepoCommands
from bdg_jobs.repos import DuplicatePushError

router = APIRouter(tags=["webhooks"], route_class=StrictJsonRoute)
_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"model": WebhookAnswer, "description": "a ping, or a push or issue recorded before"},
    202: {"model": WebhookAnswer, "description": "pushes recorded, a job started, or ignored"},
    400: {"description": "not a push webhook, or a payload without the fields it needs"},
    422: {"description": "an issue whose title and body are not a valid goal"},
    401: {"description": "unsigned, or no registration of the repository accepts it"},
    413: {"description": f"a body over {wp.MAX_BODY_BYTES} bytes"},
}


async def _body(request: Request) -> bytes:
    """The raw body (signatures are over these bytes), refused past the cap."""
    too_big = HTTPException(413, f"the body is larger than {wp.MAX_BODY_BYTES} bytes")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > wp.MAX_BODY_BYTES:
        raise too_big
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > wp.MAX_BODY_BYTES:
            raise too_big
    return bytes(body)


def _answer(status: int, answer: WebhookAnswer) -> JSONResponse:
    return JSONResponse(answer.model_dump(mode="json"), status_code=status)


@router.post(WEBHOOK_PATH, status_code=202, response_model=WebhookAnswer, responses=_ANSWERS)
async def git_webhook(request: Request, repos: Repos) -> JSONResponse:
    """A push from GitHub, GitLab or Gitea, told apart by their headers."""
    body = await _body(request)
    try:
        delivery = wp.delivery_of(request.headers)
        if delivery.is_ping:
            return _answer(200, WebhookAnswer())
        if issue_payloads.is_issue_event(delivery):
            state = request.app.state
            return await issue_webhook.receive(
                delivery, body, request.headers.get("content-type", ""), repos,
                state.gateway.commands, state.issue_triggers, state.issue_jobs,
            )  # fmt: skip
        if not delivery.is_push:
            why = f"{delivery.provider} event {delivery.event!r} is not a push"
            return _answer(202, WebhookAnswer(ignored=why))
        push = wp.parse_push(delivery, body, request.headers.get("content-type", ""))
    except wp.WebhookError as error:
        raise HTTPException(400, str(error)) from None
    if not delivery.credential:
        raise HTTPException(401, f"unsigned: no {delivery.credential_header} header")
    candidates = await repos.hooks_for(push.lookup_urls())
    accepted = [(r, t) for r, t, secret in candidates if wp.authentic(delivery, body, secret)]
    if not accepted:  # a wrong secret and an unknown repository look the same from outside
        raise HTTPException(401, "no registration of this repository accepts this signature")
    if push.deleted:
        return _answer(202, WebhookAnswer(ignored=f"{push.ref} was deleted"))
    return await _record(repos, push, accepted)


async def _record(
    repos: RepoCommands, push: wp.Push, accepted: list[tuple[UUID, str]]
) -> JSONResponse:
    cause = Cause(
        producer=f"webhook:{push.provider}", occurred_at=repos.clock(), causation_id=new_event_id()
    )
    pushed: list[UUID] = []
    duplicates: list[UUID] = []
    reasons: list[str] = []
    for repo_id, tenant in accepted:
        try:
            index = await repos.get(tenant, repo_id)
        except RepoNotFoundError:  # a secret whose registration never reached the log
            continue
        reason = wp.ignored(push, index.ref)
        if reason is not None:
            reasons.append(reason)
            continue
        try:
            await repos.push(repo_id, cause, **push.event_fields())
        except DuplicatePushError:
            duplicates.append(repo_id)
        else:
            pushed.append(repo_id)
    if pushed:
        return _answer(202, WebhookAnswer(repos=pushed))
    if duplicates:
        return _answer(200, WebhookAnswer(repos=duplicates, duplicate=True))
    return _answer(202, WebhookAnswer(ignored="; ".join(reasons) or "no registration found"))

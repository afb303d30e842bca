"""The code index: register a repository, see its index, search the tenant's code.

Registration and status go through ``RepoCommands`` and the status read model; search is a
request to the indexer over NATS (``SearchCode`` -> ``CodeSearched``).
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Response
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from pydantic import ValidationError

from bdg_contracts import commands as cmd
from bdg_contracts import index_events as ix
from bdg_contracts import subjects
from bdg_contracts import tool_events as tev
from bdg_contracts.ids import new_event_id
from bdg_contracts.text import Text
from bdg_gateway.deps import CurrentCaller, CurrentGateway
from bdg_gateway.index_deps import Index, Repos
from bdg_gateway.index_views import IndexRepoView, IndexStatusView, RepoRegistrationView, SearchView
from bdg_gateway.strict_json import StrictJsonRoute
from bdg_jobs.domain import Cause
from bdg_jobs.errors import RepoNotFoundError
from bdg_jobs.repo_commands import RepoCommands
from bdg_jobs.user_commands import Caller

router = APIRouter(tags=["index"], route_class=StrictJsonRoute)


def _cause(caller: Caller, repos: RepoCommands) -> Cause:
    return Cause(
        producer=f"user:{caller.user_id}",
        occurred_at=repos.clock(),
        causation_id=new_event_id(),
        user_id=caller.user_id,
    )


@router.post(
    "/index/repos",
    status_code=201,
    responses={200: {"model": RepoRegistrationView, "description": "registered already"}},
)
async def register_repo(
    body: cmd.RegisterRepo, caller: CurrentCaller, repos: Repos, response: Response
) -> RepoRegistrationView:
    """Index a repository for the tenant; the answer carries the webhook secret (201 the first
    time; 200 with the same id and secret, nothing written, when it is registered already).
    ``repo`` follows the rules of a job's repository (a clone URL, or a local work tree under a
    root granted to the tenant): 422 naming the rule otherwise."""
    registration = await repos.register(_cause(caller, repos), caller.tenant_id, body)
    response.status_code = 201 if registration.created else 200
    response.headers["Location"] = f"/index/repos/{registration.index.repo_id}"
    return RepoRegistrationView.of(registration)


@router.get("/index/repos")
async def list_repos(caller: CurrentCaller, index: Index) -> list[IndexStatusView]:
    """The tenant's repositories and where each index is."""
    return await index.queries.statuses(caller.tenant_id)


@router.get("/index/repos/{repo_id}")
async def get_repo(repo_id: UUID, caller: CurrentCaller, index: Index) -> IndexRepoView:
    registered = await index.repos.get(caller.tenant_id, repo_id)
    statuses = await index.queries.statuses(caller.tenant_id, repo_id)
    if not statuses:  # its event is there, its webhook row is not: not one of the tenant's
        raise RepoNotFoundError(f"no repository {repo_id}")
    return IndexRepoView.of(statuses[0], registered)


@router.get(
    "/search",
    responses={503: {"description": "no indexer is running"}, 504: {"description": "timeout"}},
)
async def search(
    caller: CurrentCaller,
    gateway: CurrentGateway,
    index: Index,
    q: Annotated[str, Query(description="what to look for"), Text(2_000, min_len=1)],
    repo: Annotated[str, Query(description="a repository id or URL"), Text(2_000)] = "",
    mode: Literal["hybrid", "vector", "fulltext"] = "hybrid",
    limit: Annotated[int, Query(ge=1, le=100)] = 6,
    token_budget: Annotated[int | None, Query(ge=1, le=100_000)] = None,
) -> SearchView:
    """The tenant's code nearest to ``q``, in rank order: ``limit`` hits when that many match,
    within ``token_budget`` tokens when one is given."""
    target = await _repo_filter(index, caller, repo.strip())
    request = tev.SearchCode(
        tenant_id=caller.tenant_id, repo=target, query=q, limit=limit, mode=mode,
        token_budget=token_budget,
    )  # fmt: skip
    try:
        reply = await gateway.nc.request(
            subjects.code_search(), request.model_dump_json().encode(), timeout=index.search_timeout
        )
    except NoRespondersError:
        raise HTTPException(503, "no indexer is running") from None
    except NatsTimeoutError:
        raise HTTPException(
            504, f"the indexer did not answer in {index.search_timeout:g}s"
        ) from None
    try:
        found = tev.CodeSearched.model_validate_json(reply.data)
    except ValidationError as error:
        raise HTTPException(502, f"the indexer answered something else: {error}") from None
    return SearchView(query=q, repo=target, mode=mode, hits=list(found.hits), error=found.error)


async def _repo_filter(index: Index, caller: Caller, repo: str) -> str:
    """A repository id is looked up (404 for another tenant's); a URL is normalised."""
    if not repo:
        return ""
    try:
        repo_id = UUID(repo)
    except ValueError:
        return ix.normalize_repo(repo)
    return (await index.repos.get(caller.tenant_id, repo_id)).repo

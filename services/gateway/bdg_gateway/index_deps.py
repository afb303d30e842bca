"""What the index and webhook routes get injected, built from the gateway's own collaborators.

No connection of its own: ``RepoCommands`` writes through the job store and its publisher, the
status reads share the read-model pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from bdg_gateway.index_queries import IndexQueries
from bdg_gateway.queries import JobQueries
from bdg_jobs.errors import RepoNotFoundError
from bdg_jobs.repo_commands import RepoCommands
from bdg_jobs.user_commands import JobCommands

SEARCH_TIMEOUT_SECONDS = 10.0


@dataclass
class IndexServices:
    repos: RepoCommands
    queries: IndexQueries
    search_timeout: float = SEARCH_TIMEOUT_SECONDS


def install(app: FastAPI, commands: JobCommands, queries: JobQueries) -> None:
    store, publisher = commands.app.store, commands.app.publisher
    database_url = queries.pool.conninfo
    if not isinstance(database_url, str):
        raise TypeError("the read-model pool must be opened with a database URL")
    repos = RepoCommands(
        store, database_url, publisher, commands.app.clock, sources=commands.sources
    )
    app.state.index = IndexServices(repos, IndexQueries(queries.pool))
    app.add_exception_handler(RepoNotFoundError, _not_found)


async def _not_found(request: Request, error: Exception) -> JSONResponse:
    # Another tenant's repository is refused with the same words as one that does not exist.
    return JSONResponse(status_code=404, content={"detail": str(error) or "not found"})


def _index(request: Request) -> IndexServices:
    services: IndexServices = request.app.state.index
    return services


def _repos(index: Annotated[IndexServices, Depends(_index)]) -> RepoCommands:
    return index.repos


Index = Annotated[IndexServices, Depends(_index)]
Repos = Annotated[RepoCommands, Depends(_repos)]

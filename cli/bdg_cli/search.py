"""`bdg search`: the tenant's indexed code nearest to a query, asked of the indexer over NATS.

A search is a request on NATS and nothing else: no migrations, event store or JetStream
streams (``context.connected``) unless ``--repo`` names a repository by its id, which is looked
up in the store. rich and the renderers are imported only to print hits.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
from collections.abc import AsyncIterator, Coroutine, Sequence
from typing import Annotated, Any
from uuid import UUID

import typer
from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from bdg_cli.options import Tenant, fail, tenant_id
from bdg_cli.reach import Unreachable, connect_nats
from bdg_cli.records import AsJson, json_text
from bdg_cli.repo_paths import is_url, work_tree
from bdg_contracts import index_events as ix
from bdg_contracts import subjects
from bdg_contracts import tool_events as tev

SEARCH_TIMEOUT_SECONDS = 30.0


class Mode(enum.StrEnum):
    hybrid = "hybrid"
    vector = "vector"
    fulltext = "fulltext"


def search(
    query: Annotated[str, typer.Argument(help="what to look for, in words or code")],
    repo: Annotated[
        str, typer.Option(help="only this repository (URL, path or repo id)", show_default=False)
    ] = "",
    mode: Annotated[Mode, typer.Option(help="how to rank")] = Mode.hybrid,
    limit: Annotated[int, typer.Option(min=1, max=100, help="hits at most")] = 6,
    token_budget: Annotated[
        int | None, typer.Option(min=1, max=100_000, help="tokens at most (default: no cap)")
    ] = None,
    as_json: AsJson = False,
    tenant: Tenant = None,
) -> None:
    """Search the tenant's indexed code (asks the indexer over NATS)."""

    async def main() -> tev.CodeSearched:
        who = tenant_id(tenant)
        target = await _search_target(who, repo.strip())
        request = tev.SearchCode(
            tenant_id=who, repo=target, query=query, limit=limit,
            mode=mode.value, token_budget=token_budget,
        )  # fmt: skip
        async with nats_only() as nc:
            try:
                reply = await nc.request(
                    subjects.code_search(), request.model_dump_json().encode(),
                    timeout=SEARCH_TIMEOUT_SECONDS,
                )  # fmt: skip
            except NoRespondersError:
                fail("no indexer is running: start one with `bdg up` (or `bdg up indexer`)")
            except NatsTimeoutError:
                fail(f"the indexer did not answer in {SEARCH_TIMEOUT_SECONDS:.0f} s")
        return tev.CodeSearched.model_validate_json(reply.data)

    found = _run(main())
    if found.error:
        fail(found.error)
    if as_json:
        print(json_text([hit.model_dump(mode="json") for hit in found.hits]))
    elif not found.hits:
        print("no matches")
    else:
        _print_hits(found.hits)


def _print_hits(hits: Sequence[tev.CodeHit]) -> None:
    from rich.console import Console

    from bdg_cli import render

    console = Console(highlight=False, soft_wrap=True)
    several = len({h.repo for h in hits}) > 1
    for hit in hits:
        console.print(render.hit_header(hit, show_repo=several))
        console.print(render.hit_snippet(hit))


def _run(main: Coroutine[Any, Any, tev.CodeSearched]) -> tev.CodeSearched:
    from pydantic import ValidationError

    try:
        return asyncio.run(main)
    except ValidationError as error:  # a query or option the contract refuses: bad input
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        fail(problems, 2)
    except KeyboardInterrupt:
        fail("interrupted", 130)


@contextlib.asynccontextmanager
async def nats_only() -> AsyncIterator[Client]:
    """NATS at ``NATS_URL`` in ``BDG_NAMESPACE``; unset (or spelt otherwise): the settings'
    way, which may start the embedded stack (stopped again on the way out)."""
    given = os.environ.get("NATS_URL")
    subjects.use_namespace(os.environ.get("BDG_NAMESPACE", "") if given else "")
    async with contextlib.AsyncExitStack() as exits:
        if not given:
            from bdg_cli.context import urls

            _db, given = exits.enter_context(urls())  # sets the settings' namespace
        try:
            nc = await connect_nats(given)
        except Unreachable as error:
            fail(str(error))
        exits.push_async_callback(_drain, nc)
        yield nc


async def _drain(nc: Client) -> None:
    with contextlib.suppress(Exception):  # closing: nothing left to tell the user
        await nc.drain()


async def _search_target(tenant: str, repo: str) -> str:
    """A repository as the index names it: a repo id looked up, a path made absolute."""
    if not repo:
        return ""
    try:
        repo_id = UUID(repo)
    except ValueError:
        pass
    else:
        return await _registered_repo(tenant, repo_id)
    if is_url(repo):
        return ix.normalize_repo(repo)
    return ix.normalize_repo(work_tree(repo))


async def _registered_repo(tenant: str, repo_id: UUID) -> str:
    """The URL of a repository registered under ``repo_id`` (the store: the heavy path)."""
    from bdg_cli.context import connected
    from bdg_cli.index import repo_commands
    from bdg_jobs.errors import RepoNotFoundError

    try:
        async with connected() as conn:
            return (await repo_commands(conn).get(tenant, repo_id)).repo
    except (RepoNotFoundError, Unreachable) as error:
        fail(str(error))

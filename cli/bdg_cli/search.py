"""`bdg search`: the tenant's indexed code nearest to a query, asked of the indexer over NATS."""

from __future__ import annotations

import enum
from typing import Annotated
from uuid import UUID

import typer
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from rich.console import Console

from bdg_cli import render
from bdg_cli.context import Connected, caller, connected, fail, run
from bdg_cli.index import Tenant, is_url, repo_commands, work_tree
from bdg_cli.records import AsJson, json_text
from bdg_contracts import index_events as ix
from bdg_contracts import subjects
from bdg_contracts import tool_events as tev
from bdg_jobs.errors import RepoNotFoundError

console = Console(highlight=False, soft_wrap=True)
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

    async def main() -> None:
        who = caller(tenant)
        async with connected() as conn:
            target = await _search_target(conn, who.tenant_id, repo.strip())
            request = tev.SearchCode(
                tenant_id=who.tenant_id, repo=target, query=query, limit=limit,
                mode=mode.value, token_budget=token_budget,
            )  # fmt: skip
            try:
                reply = await conn.nc.request(
                    subjects.code_search(), request.model_dump_json().encode(),
                    timeout=SEARCH_TIMEOUT_SECONDS,
                )  # fmt: skip
            except NoRespondersError:
                fail("no indexer is running: start one with `bdg up` (or `bdg up indexer`)")
            except NatsTimeoutError:
                fail(f"the indexer did not answer in {SEARCH_TIMEOUT_SECONDS:.0f} s")
        found = tev.CodeSearched.model_validate_json(reply.data)
        if found.error:
            fail(found.error)
        if as_json:
            print(json_text([hit.model_dump(mode="json") for hit in found.hits]))
            return
        if not found.hits:
            console.print("no matches")
            return
        several = len({h.repo for h in found.hits}) > 1
        for hit in found.hits:
            console.print(render.hit_header(hit, show_repo=several))
            console.print(render.hit_snippet(hit))

    run(main())


async def _search_target(conn: Connected, tenant: str, repo: str) -> str:
    """A repository as the index names it: a repo id looked up, a path made absolute."""
    if not repo:
        return ""
    try:
        repo_id = UUID(repo)
    except ValueError:
        pass
    else:
        try:
            return (await repo_commands(conn).get(tenant, repo_id)).repo
        except RepoNotFoundError as error:
            fail(str(error))
    if is_url(repo):
        return ix.normalize_repo(repo)
    return ix.normalize_repo(work_tree(repo))

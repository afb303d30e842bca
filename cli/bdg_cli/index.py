"""`bdg index add|status`: register repositories for the indexer and follow its progress.

Registration goes through ``RepoCommands``, as the gateway's does, with the same rules: a clone
URL, or the top of a local work tree under a root granted to the tenant (bdg_jobs.sources).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer

from bdg_cli import listings
from bdg_cli.context import Connected, caller, connected, fail, run
from bdg_cli.index_progress import SETTLED, Row, console, errors, follow, rows
from bdg_cli.options import Tenant, User
from bdg_cli.records import AsJson, json_text, print_records
from bdg_contracts import commands as cmd
from bdg_contracts.ids import new_event_id
from bdg_jobs.domain import Cause
from bdg_jobs.errors import RepoNotFoundError
from bdg_jobs.repo_commands import RepoCommands
from bdg_jobs.sources import absolute, looks_like_url
from bdg_jobs.user_commands import Caller

app = typer.Typer(help="Index repositories for code search.", no_args_is_help=True)
STALL_SECONDS = 30.0  # `status` follows on its own only while the indexer shows signs of life


# -- what to register ---------------------------------------------------------------------------
def repo_commands(conn: Connected) -> RepoCommands:
    return RepoCommands(
        conn.store,
        conn.database_url,
        conn.app.publisher,
        conn.app.clock,
        sources=conn.commands.sources,
    )


def _cause(who: Caller, repos: RepoCommands) -> Cause:
    return Cause(f"user:{who.user_id}", repos.clock(), new_event_id(), who.user_id)


async def _failure(conn: Connected, tenant: str, row: Row) -> str:
    """Why indexing failed: the IndexFailed reason, else the reason its status row gives."""
    try:
        reason = (await repo_commands(conn).get(tenant, row.repo_id)).last_error
    except RepoNotFoundError:
        reason = ""
    # The indexer puts the reason in a failed row's phase too; its errors are skipped files.
    return reason or row.phase or "indexing failed"


@app.command()
def add(
    target: Annotated[
        str, typer.Argument(metavar="PATH|URL", help="a git work tree's top, or a clone URL")
    ],
    ref: Annotated[str, typer.Option(help="branch or ref to index")] = "HEAD",
    include: Annotated[
        list[str] | None, typer.Option(help="glob of files to index (repeatable)")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option(help="glob to leave out (repeatable)")
    ] = None,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="return once registered, without following")
    ] = False,
    tenant: Tenant = None,
    user: User = None,
) -> None:
    """Register a repository for indexing; then follow the indexer until it is ready."""
    url = looks_like_url(target)
    repo = absolute(target, Path.cwd())  # judged as `bdg job create --repo` is: same rules
    command = cmd.RegisterRepo(
        repo=repo, ref=ref, include=tuple(include) if include else None,
        exclude=tuple(exclude or ()),
    )  # fmt: skip

    async def main() -> None:
        who = caller(tenant, user)
        async with connected() as conn:
            repos = repo_commands(conn)
            registration = await repos.register(_cause(who, repos), who.tenant_id, command)
            index = registration.index
            console.print(str(index.repo_id))
            said = "registered" if registration.created else "registered already"
            console.print(f"{said}: {index.repo} at {index.ref}")
            if url:
                console.print(f"webhook secret: {registration.secret}")
                console.print(
                    "webhook: POST <gateway>/webhooks/git on push (GitHub, Gitea: the secret "
                    "signs; GitLab: the secret is the token)"
                )
            if no_wait:
                return
            errors.print("following the indexer until it is ready (Ctrl-C stops following)")
            await follow(conn, who.tenant_id, [index.repo_id], None)
            [row] = await rows(conn, who.tenant_id, index.repo_id)
            if row.state == "failed":
                fail(f"indexing {index.repo} failed: {await _failure(conn, who.tenant_id, row)}")
            at = f" at {row.commit[:12]}" if row.commit else ""
            console.print(f"ready: {row.files} files, {row.chunks} chunks{at}")

    run(main())


@app.command()
def status(
    repo_id: Annotated[
        UUID | None, typer.Argument(metavar="[REPO_ID]", help="one repository", show_default=False)
    ] = None,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="follow until every repository settles")
    ] = False,
    as_json: AsJson = False,
    tenant: Tenant = None,
) -> None:
    """The tenant's repositories and their index; follows one that is being indexed."""

    async def main() -> None:
        who = caller(tenant)
        async with connected() as conn:
            if repo_id is not None:
                try:
                    await repo_commands(conn).get(who.tenant_id, repo_id)
                except RepoNotFoundError as error:
                    fail(str(error))
            found = await rows(conn, who.tenant_id, repo_id)
            # Without --watch, only what the indexer is working on now is followed.
            waiting = SETTLED if watch else SETTLED | {"pending"}
            moving = [r.repo_id for r in found if r.state not in waiting]
            if moving:
                errors.print(f"following {len(moving)} repositories being indexed (Ctrl-C stops)")
                settled = await follow(
                    conn, who.tenant_id, moving, None if watch else STALL_SECONDS
                )
                if not settled:
                    errors.print(f"no progress for {STALL_SECONDS:.0f} s; is the indexer running?")
                found = await rows(conn, who.tenant_id, repo_id)
        if as_json:
            print(json_text(listings.index_records(found)))
        elif not found:
            console.print("no repositories registered (`bdg index add PATH|URL`)")
        else:
            print_records(listings.INDEX_COLUMNS, listings.index_rows(found))

    run(main())

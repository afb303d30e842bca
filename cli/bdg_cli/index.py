"""`bdg index add|status` and `bdg search`: register repositories for the indexer, follow its
progress (the ``bdg_index_status`` read model it writes), search the tenant's code through it.

Registration goes through ``RepoCommands``, as the gateway's does; unlike the API, the CLI may
register a local work tree (it runs on the machine that holds it).
"""

from __future__ import annotations

import asyncio
import enum
import re
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote, urlparse
from uuid import UUID

import psycopg
import typer
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bdg_cli import render
from bdg_cli.context import Connected, caller, connected, fail, run
from bdg_contracts import commands as cmd
from bdg_contracts import index_events as ix
from bdg_contracts import subjects
from bdg_contracts import tool_events as tev
from bdg_contracts.ids import new_event_id
from bdg_jobs.domain import Cause
from bdg_jobs.errors import RepoNotFoundError
from bdg_jobs.repo_commands import RepoCommands
from bdg_jobs.user_commands import Caller

app = typer.Typer(help="Index repositories for code search.", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)

SETTLED = frozenset({"ready", "failed"})
POLL_SECONDS = 0.25
NO_INDEXER_NOTE_SECONDS = 10.0
STALL_SECONDS = 30.0  # `status` follows on its own only while the indexer shows signs of life
SEARCH_TIMEOUT_SECONDS = 30.0
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_SCP = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(?!/)")  # git@host:owner/repo

Tenant = Annotated[
    str | None, typer.Option(help="tenant [env BDG_TENANT, default local]", show_default=False)
]
User = Annotated[
    str | None, typer.Option(help="user [env BDG_USER, default $USER]", show_default=False)
]


class Mode(enum.StrEnum):
    hybrid = "hybrid"
    vector = "vector"
    fulltext = "fulltext"


@dataclass(frozen=True)
class Row:
    """One of the tenant's repositories and its status row (``render.IndexStatus``)."""

    repo_id: UUID
    repo: str
    state: str
    phase: str
    commit: str | None
    files: int
    chunks: int
    done: int
    total: int
    errors: list[Any]
    updated_at: datetime | None


STATUS_SQL = """
    SELECT h.repo_id, h.repo, s.state, s.phase, s.commit, s.files, s.chunks, s.done, s.total,
           s.errors, s.updated_at
    FROM bdg_repo_hooks h LEFT JOIN bdg_index_status s ON s.repo_id = h.repo_id
    WHERE h.tenant = %s ORDER BY h.created_at, h.repo
"""


def statuses(database_url: str, tenant: str) -> list[Row]:
    with psycopg.connect(database_url, autocommit=True) as db:
        found = db.execute(STATUS_SQL, (tenant,)).fetchall()
    return [
        Row(rid, repo, state or "pending", phase or "", commit, files or 0, chunks or 0,
            done or 0, total or 0, errs if isinstance(errs, list) else [] if errs is None
            else [errs], updated)
        for rid, repo, state, phase, commit, files, chunks, done, total, errs, updated in found
    ]  # fmt: skip


# -- what to register ---------------------------------------------------------------------------
def is_url(target: str) -> bool:
    return bool(_URL.match(target) or _SCP.match(target)) and not target.startswith("file:")


def work_tree(target: str) -> str:
    """The absolute top of the git work tree ``target`` (a path or file:// URL) lies in."""
    path = Path(unquote(urlparse(target).path) if target.startswith("file:") else target)
    path = path.expanduser()
    if not path.is_dir():
        fail(f"{target}: no such directory", 2)
    try:
        top = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "--show-toplevel"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    except FileNotFoundError:
        fail("git is not installed: it is needed to index a local repository", 2)
    if top.returncode != 0 or not top.stdout.strip():
        fail(f"{path.resolve()} is not a git work tree (git rev-parse found none)", 2)
    return str(Path(top.stdout.strip()).resolve())


def _repos(conn: Connected) -> RepoCommands:
    return RepoCommands(conn.store, conn.database_url, conn.app.publisher, conn.app.clock)


def _cause(who: Caller, repos: RepoCommands) -> Cause:
    return Cause(f"user:{who.user_id}", repos.clock(), new_event_id(), who.user_id)


# -- following the indexer -----------------------------------------------------------------------
async def follow(conn: Connected, tenant: str, repo_ids: list[UUID], stall: float | None) -> bool:
    """Progress bars until every repository in ``repo_ids`` is ready or failed (True); or, with
    ``stall``, until nothing has moved for that long (False)."""
    noted, started = False, time.monotonic()
    moved_at, seen = started, None
    with Progress(
        TextColumn("{task.fields[repo]}"),
        TextColumn("[cyan]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        tasks: dict[UUID, Any] = {}
        while True:
            rows = [r for r in await asyncio.to_thread(statuses, conn.database_url, tenant)
                    if r.repo_id in repo_ids]  # fmt: skip
            for row in rows:
                if row.repo_id not in tasks:
                    tasks[row.repo_id] = progress.add_task("", total=None, repo=_short(row.repo))
                progress.update(
                    tasks[row.repo_id],
                    description=f"{row.state} {row.phase}".strip(),
                    completed=row.done,
                    total=row.total or None,
                )
            if rows and all(r.state in SETTLED for r in rows):
                return True
            now = time.monotonic()
            if rows != seen:
                moved_at, seen = now, rows
            if stall is not None and now - moved_at > stall:
                return False
            if (
                not noted
                and now - started > NO_INDEXER_NOTE_SECONDS
                and all(r.state == "pending" for r in rows)
            ):
                noted = True
                errors.print(
                    "no indexer has started on it yet (is `bdg up` running?); still waiting, "
                    "Ctrl-C stops waiting (the registration stays)"
                )
            await asyncio.sleep(POLL_SECONDS)


def _short(repo: str, width: int = 40) -> str:
    return repo if len(repo) <= width else "…" + repo[-(width - 1) :]


async def _failure(conn: Connected, tenant: str, row: Row) -> str:
    """Why indexing failed: the IndexFailed reason, else the errors the indexer recorded."""
    try:
        reason = (await _repos(conn).get(tenant, row.repo_id)).last_error
    except RepoNotFoundError:
        reason = ""
    return reason or "; ".join(render.index_error(e) for e in row.errors) or "indexing failed"


# -- commands -------------------------------------------------------------------------------------
@app.command()
def add(
    target: Annotated[str, typer.Argument(metavar="PATH|URL", help="a git work tree or clone URL")],
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
    url = is_url(target)
    repo = target if url else work_tree(target)
    command = cmd.RegisterRepo(
        repo=repo, ref=ref, include=tuple(include) if include else None,
        exclude=tuple(exclude or ()),
    )  # fmt: skip

    async def main() -> None:
        who = caller(tenant, user)
        async with connected() as conn:
            repos = _repos(conn)
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
            [row] = await _rows(conn, who.tenant_id, index.repo_id)
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
    tenant: Tenant = None,
) -> None:
    """The tenant's repositories and their index; follows one that is being indexed."""

    async def main() -> None:
        who = caller(tenant)
        async with connected() as conn:
            if repo_id is not None:
                try:
                    await _repos(conn).get(who.tenant_id, repo_id)
                except RepoNotFoundError as error:
                    fail(str(error))
            rows = await _rows(conn, who.tenant_id, repo_id)
            # Without --watch, only what the indexer is working on now is followed.
            waiting = SETTLED if watch else SETTLED | {"pending"}
            moving = [r.repo_id for r in rows if r.state not in waiting]
            if moving:
                errors.print(f"following {len(moving)} repositories being indexed (Ctrl-C stops)")
                settled = await follow(
                    conn, who.tenant_id, moving, None if watch else STALL_SECONDS
                )
                if not settled:
                    errors.print(f"no progress for {STALL_SECONDS:.0f} s; is the indexer running?")
                rows = await _rows(conn, who.tenant_id, repo_id)
        if not rows:
            console.print("no repositories registered (`bdg index add PATH|URL`)")
            return
        console.print(render.index_table(rows))

    run(main())


async def _rows(conn: Connected, tenant: str, repo_id: UUID | None) -> list[Row]:
    rows = await asyncio.to_thread(statuses, conn.database_url, tenant)
    return [r for r in rows if repo_id is None or r.repo_id == repo_id]


def search(
    query: Annotated[str, typer.Argument(help="what to look for, in words or code")],
    repo: Annotated[
        str, typer.Option(help="only this repository (URL, path or repo id)", show_default=False)
    ] = "",
    mode: Annotated[Mode, typer.Option(help="how to rank")] = Mode.hybrid,
    limit: Annotated[int, typer.Option(min=1, max=100, help="hits at most")] = 6,
    token_budget: Annotated[int, typer.Option(min=1, max=100_000, help="tokens at most")] = 2_000,
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
            return (await _repos(conn).get(tenant, repo_id)).repo
        except RepoNotFoundError as error:
            fail(str(error))
    if is_url(repo):
        return ix.normalize_repo(repo)
    return ix.normalize_repo(work_tree(repo))


def register(main: typer.Typer) -> None:
    main.add_typer(app, name="index")
    main.command("search")(search)

"""`bdg job ...`: create, inspect and steer jobs through ``JobCommands``, as the gateway does."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer
from rich.console import Console

from bdg_cli import render
from bdg_cli.context import Connected, caller, connected, run
from bdg_cli.options import JobId, Tenant, User
from bdg_contracts import commands as cmd
from bdg_contracts import subjects, wire
from bdg_contracts.base import Event
from bdg_contracts.states import ENDED_STATES, JobState
from bdg_jobs.domain import Job
from bdg_jobs.sources import absolute
from bdg_jobs.store import Recorded
from bdg_jobs.user_commands import Caller

if TYPE_CHECKING:
    from nats.aio.msg import Msg

app = typer.Typer(help="Create, inspect and steer jobs.", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)


class Follower:
    """A job's events in version order, live: the log first, then the bus, with no gaps or
    repeats. Versions already seen are skipped; a gap, or a quiet ``idle`` seconds, is filled
    from the store (a message may come late, twice, or never)."""

    def __init__(self, conn: Connected, who: Caller, job_id: UUID, idle: float = 1.0) -> None:
        self.conn, self.who, self.job_id, self.idle = conn, who, job_id, idle
        self.job: Job | None = None

    async def events(
        self, after: int = 0, until: Callable[[Job], bool] | None = None
    ) -> AsyncIterator[Event]:
        """Events past ``after``; ends once ``until(job)`` holds (never without one)."""
        inbox: asyncio.Queue[Event] = asyncio.Queue()

        async def received(msg: Msg) -> None:
            with contextlib.suppress(Exception):  # not ours to judge: the store is the truth
                inbox.put_nowait(wire.decode(msg.headers or {}, msg.data))

        subject = subjects.job_events(self.who.tenant_id, self.job_id)
        subscription = await self.conn.nc.subscribe(subject, cb=received)
        try:
            # Subscribed before reading the log: whatever is committed from now on arrives.
            history = await self.conn.commands.events(self.who, self.job_id)
            self.job = job = Job.replay(history)
            for event in history:
                if event.version > after:
                    yield event
            while until is None or not until(job):
                try:
                    heard: Event | None = await asyncio.wait_for(inbox.get(), self.idle)
                except TimeoutError:
                    heard = None
                if heard is not None and heard.version <= job.version:
                    continue  # seen already (a re-drive, a redelivery, the backfill)
                if heard is not None and heard.version == job.version + 1:
                    fresh = [heard]
                else:
                    fresh = await self.conn.app.history(self.job_id, job.version)
                for event in fresh:
                    job.apply(event)
                    if event.version > after:
                        yield event
                    if until is not None and until(job):
                        break
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()


def event_json(event: Event) -> str:
    """An event as the gateway's WebSocket sends it: ``{"version", "name", "event"}``."""
    body = event.model_dump(mode="json")
    return json.dumps({"version": event.version, "name": event.name, "event": body})


def _ended(job: Job) -> bool:
    return job.state in ENDED_STATES


# `--follow` ends with the job: 0 when it is done, 1 when it failed or was cancelled.
FOLLOW_EXIT = {JobState.done: 0, JobState.failed: 1, JobState.cancelled: 1}


def _print_recorded(recorded: list[Recorded]) -> None:
    for r in recorded:
        console.print(render.event_line(r.event))


async def _then_state(conn: Connected, who: Caller, job_id: UUID) -> None:
    job = await conn.commands.get(who, job_id)
    console.print("job is now", render.state_text(job.state.value))


def steer(
    job_id: UUID,
    tenant: str | None,
    user: str | None,
    act: Callable[[Connected, Caller], Awaitable[list[Recorded]]],
) -> None:
    async def main() -> None:
        who = caller(tenant, user)
        async with connected() as conn:
            _print_recorded(await act(conn, who))
            await _then_state(conn, who, job_id)

    run(main())


@app.command()
def create(
    goal: Annotated[str, typer.Argument(help="what to build, in plain words")],
    repo: Annotated[
        str,
        typer.Option(help="a clone URL, or a git work tree's top (a path: from this directory)"),
    ] = "",
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="approve the plan without asking")
    ] = False,
    tenant: Tenant = None,
    user: User = None,
) -> None:
    """Request a job; prints its id."""

    async def main() -> None:
        request = cmd.RequestJob(
            goal=goal,
            repo=absolute(repo, Path.cwd()),  # the services' cwd is not ours
            plan_approval="auto" if auto_approve else "gated",
        )
        async with connected() as conn:
            job = await conn.commands.create(caller(tenant, user), request)
        console.print(str(job.job_id))

    run(main())


@app.command()
def events(
    job_id: JobId,
    after: Annotated[int, typer.Option(min=0, help="only versions after this one")] = 0,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            "-f",
            help="keep printing until the job ends: exit 0 when done, 1 failed or cancelled",
        ),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="one JSON object per line: version, name, event (all its fields)"
        ),
    ] = False,
    tenant: Tenant = None,
    user: User = None,
) -> None:
    """The job's events; with --follow, live until it is done, failed or cancelled."""

    async def main() -> int:
        async with connected() as conn:
            follower = Follower(conn, caller(tenant, user), job_id)
            async for event in follower.events(after, _ended if follow else lambda _: True):
                if as_json:
                    print(event_json(event), flush=True)
                else:
                    console.print(render.event_line(event))
        if not follow or follower.job is None:
            return 0
        if not as_json:
            console.print("job is now", render.state_text(follower.job.state.value))
        return FOLLOW_EXIT[follower.job.state]

    raise typer.Exit(run(main()))


@app.command()
def approve(
    job_id: JobId,
    deploy: Annotated[bool, typer.Option("--deploy", help="approve the deploy")] = False,
    digest: Annotated[
        str | None,
        typer.Option(help="with --deploy: the digest reviewed (default: the one shown here)"),
    ] = None,
    tenant: Tenant = None,
    user: User = None,
) -> None:
    """Approve the plan (or, with --deploy, the deploy: the digest shown is the one approved;
    a deploy asked again meanwhile is refused)."""

    async def act(conn: Connected, who: Caller) -> list[Recorded]:
        if not deploy:
            return await conn.commands.approve_plan(who, job_id)
        shown = digest
        if shown is None:
            shown = (await conn.commands.get(who, job_id)).deploy_digest or None
            if shown:
                console.print(f"approving deploy digest {shown}")
        if shown is not None:
            shown = cmd.ApproveDeploy(digest=shown).digest  # a malformed one: refused here
        return await conn.commands.approve_deploy(who, job_id, shown)

    steer(job_id, tenant, user, act)


@app.command()
def cancel(
    job_id: JobId,
    reason: Annotated[str, typer.Option(help="why, for the log")] = "",
    tenant: Tenant = None,
    user: User = None,
) -> None:
    """Cancel the job for good."""
    steer(
        job_id,
        tenant,
        user,
        lambda conn, who: conn.commands.cancel(who, job_id, cmd.CancelJob(reason=reason)),
    )


@app.command()
def retry(job_id: JobId, tenant: Tenant = None, user: User = None) -> None:
    """Run the failed step again."""
    steer(job_id, tenant, user, lambda conn, who: conn.commands.retry(who, job_id))


@app.command()
def pause(
    job_id: JobId,
    reason: Annotated[str, typer.Option(help="why, for the log")] = "",
    tenant: Tenant = None,
    user: User = None,
) -> None:
    """Pause the job; work in flight finishes, nothing new starts."""
    steer(
        job_id,
        tenant,
        user,
        lambda conn, who: conn.commands.pause(who, job_id, cmd.PauseJob(reason=reason)),
    )


@app.command()
def resume(job_id: JobId, tenant: Tenant = None, user: User = None) -> None:
    """Resume a paused job where it stopped."""
    steer(job_id, tenant, user, lambda conn, who: conn.commands.resume(who, job_id))


@app.command()
def budget(
    job_id: JobId,
    limit: Annotated[float, typer.Option(help="the job's new cost limit in USD", min=0.01)],
    tenant: Tenant = None,
    user: User = None,
) -> None:
    """Raise the job's cost limit; a job suspended for its budget resumes."""
    steer(
        job_id,
        tenant,
        user,
        lambda conn, who: conn.commands.raise_budget(who, job_id, cmd.RaiseBudget(limit_usd=limit)),
    )

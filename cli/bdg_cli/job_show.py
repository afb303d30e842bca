"""`bdg job show JOB [--at N] [--plan]`: the job, what it waits for and the command that moves it
on, why it failed, the tester's last analysis, and (``--plan``) the plan in force."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console, RenderableType
from rich.text import Text

from bdg_cli import job_status, render
from bdg_cli.context import caller, connected, run
from bdg_cli.options import JobId, Tenant, User
from bdg_contracts.base import Event
from bdg_jobs.domain import Job

ANALYSIS_LINES = 30
console = Console(highlight=False, soft_wrap=True)


def _section(title: str, body: Text) -> Text:
    """The title, then the body indented by two (no padding to the width: scripts grep it)."""
    text = Text(title, style="bold")
    for line in body.split("\n", allow_blank=True):
        text.append("\n  ")
        text.append_text(line)
    return text


def _clipped(text: str, lines: int, more: str) -> Text:
    kept = text.rstrip().splitlines()
    shown = Text("\n".join(kept[:lines]))
    if len(kept) > lines:
        shown.append(f"\n… {len(kept) - lines} more lines: {more}", style="dim")
    return shown


def status(job: Job, history: list[Event], plan: bool) -> list[RenderableType]:
    """The job's table, then what it waits for, its failure and its last analysis."""
    parts: list[RenderableType] = [render.job_table(job)]
    for waiting in job_status.waiting_for(job, history):
        body = Text(waiting.detail)
        for command in waiting.commands:
            body.append("\n")
            body.append(command, style="bold cyan")
        parts.append(_section(f"waits for {waiting.what}", body))
    reason = job_status.failure_reason(job, history)
    if reason:
        parts.append(_section("failure reason", _clipped(reason, ANALYSIS_LINES, "bdg job events")))
    analysis = job_status.last_analysis(history)
    if analysis is not None and analysis.analysis:
        more = f"bdg job attempts {job.job_id} --attempt {analysis.attempt}"
        body = _clipped(analysis.analysis, ANALYSIS_LINES, more)
        parts.append(_section(f"last test analysis (attempt {analysis.attempt})", body))
    if plan:
        parts.append(_section("plan", Text(job.plan_markdown.rstrip() or "(no plan yet)")))
    return parts


def show(
    job_id: JobId,
    at: Annotated[int | None, typer.Option(min=1, help="the job as it was at this version")] = None,
    plan: Annotated[bool, typer.Option("--plan", help="print the plan in force")] = False,
    tenant: Tenant = None,
    user: User = None,
) -> None:
    """The job now (or at a version), what it waits for and how to continue it."""

    async def main() -> list[RenderableType]:
        who = caller(tenant, user)
        async with connected() as conn:
            job = await conn.commands.get(who, job_id, at)
            history = await conn.commands.events(who, job_id)
        return status(job, [e for e in history if e.version <= job.version], plan)

    for part in run(main()):
        console.print(part)


def register(app: typer.Typer) -> None:
    app.command("show")(show)

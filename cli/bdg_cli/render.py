"""How a job, its events and search hits look in a terminal (rich); listings are in
``listings.py``. No I/O besides printing."""

from __future__ import annotations

from datetime import datetime
from functools import singledispatch
from typing import Any

from rich.table import Table
from rich.text import Text

from bdg_cli.listings import first_meaningful_line
from bdg_contracts import events as ev
from bdg_contracts import tool_events as tev
from bdg_contracts.base import Event
from bdg_jobs.domain import Job

STATE_STYLE = {
    "done": "bold green",
    "failed": "bold red",
    "cancelled": "red",
    "paused": "yellow",
    "suspended_budget": "yellow",
    "awaiting_plan_approval": "bold magenta",
    "awaiting_deploy_approval": "bold magenta",
}


def checkboxes(markdown: str) -> tuple[int, int]:
    """(ticked, all) Markdown task-list items of a plan."""
    items = [line.strip() for line in markdown.splitlines()]
    boxes = [i for i in items if i.startswith(("- [ ]", "- [x]", "- [X]", "* [ ]", "* [x]"))]
    return sum(1 for b in boxes if b[3] in "xX"), len(boxes)


def _first_line(text: str, width: int = 70) -> str:
    return first_meaningful_line(text, width)


@singledispatch
def summary(event: Event) -> str:
    """One short line on what an event says; events with nothing to add say nothing."""
    return ""


@summary.register
def _(event: ev.JobRequested) -> str:
    repo = f" in {event.repo}" if event.repo else ""
    return f"{_first_line(event.goal)!r}{repo}, plan approval {event.plan_approval}"


def _plan(markdown: str) -> str:
    return f"plan with {checkboxes(markdown)[1]} checkboxes"


@summary.register
def _(event: ev.PlanDrafted) -> str:
    return f"draft {event.iteration}: {_plan(event.plan_markdown)}"


@summary.register
def _(event: ev.PlanCritiqued) -> str:
    risks = f", {len(event.risks)} risk(s)" if event.risks else ""
    return f"draft {event.iteration} scored {event.score}/10{risks}"


@summary.register(ev.PlanReady)
@summary.register(ev.PlanEdited)
def _(event: ev.PlanReady | ev.PlanEdited) -> str:
    return _plan(event.plan_markdown)


@summary.register(ev.PlanApproved)
@summary.register(ev.DeployApproved)
def _(event: ev.PlanApproved | ev.DeployApproved) -> str:
    return f"by {event.approved_by}"


def short_arguments(arguments_json: str, width: int = 70) -> str:
    """``path=calc/ops.py content='def mul(a, b):⏎    re…'``: a tool call's arguments on a line
    (the attempts view's form, narrower for an event line)."""
    # Imported here: it brings the attempts contracts (~0.3 s of model building) with it.
    from bdg_jobs.attempt_tool_calls import short_arguments as attempt_arguments

    return attempt_arguments(arguments_json, width, value_width=30)


@summary.register
def _(event: ev.ToolCalled) -> str:
    arguments = short_arguments(event.arguments_json)
    return f"{event.tool} {arguments}" if arguments else event.tool


@summary.register
def _(event: tev.ToolCallRequested) -> str:
    return f"{event.tool} {short_arguments(event.arguments_json, 40)} waits: {event.reason}"


@summary.register(tev.ToolCallRefused)
@summary.register(tev.ToolCallRejected)
def _(event: tev.ToolCallRefused | tev.ToolCallRejected) -> str:
    why = event.reason if isinstance(event, tev.ToolCallRefused) else event.message
    return f"{event.tool}: {_first_line(why, 60)}"


@summary.register
def _(event: ev.FilesChanged) -> str:
    paths = ", ".join(event.paths[:3]) + (" …" if len(event.paths) > 3 else "")
    return f"attempt {event.attempt}: {paths}"


@summary.register
def _(event: ev.CandidatesCompared) -> str:
    each = "; ".join(
        f"{c.index}: {c.passed} passed, {c.failed} failed" + (f" ({c.note})" if c.note else "")
        for c in event.candidates
    )
    kept = f"kept candidate {event.chosen} of {len(event.candidates)}"
    return f"attempt {event.attempt}: {kept} ({each})"


@summary.register
def _(event: ev.CodingFinished) -> str:
    return f"attempt {event.attempt}" + (f": {_first_line(event.summary)}" if event.summary else "")


def _results(results: ev.TestResults) -> str:
    coverage = f", coverage {results.coverage:.0f}%" if results.coverage is not None else ""
    passed = results.total - results.failed
    check = results.fail_to_pass
    proof = f", fail-to-pass {check.verdict.replace('_', ' ')}" if check is not None else ""
    return f"{passed}/{results.total} passed, {results.failed} failed{coverage}{proof}"


@summary.register
def _(event: ev.TestsPassed) -> str:
    return f"attempt {event.attempt}: {_results(event.results)}"


@summary.register
def _(event: ev.TestsFailed) -> str:
    analysis = f" ({_first_line(event.analysis, 50)})" if event.analysis else ""
    return f"attempt {event.attempt}: {_results(event.results)}{analysis}"


@summary.register
def _(event: ev.ReviewCompleted) -> str:
    verdict = "approved" if event.approved else "changes requested"
    notes = f": {_first_line(event.notes, 60)}" if event.notes else ""
    return f"{verdict}, score {event.score}/10{notes}"


@summary.register
def _(event: ev.PreviewMeasured) -> str:
    verdict = "below" if event.below_bar() else "passed"
    return f"Lighthouse {event.line()} ({verdict} the bar {event.bar}) at {event.url}"


@summary.register
def _(event: ev.DeployAwaitingApproval) -> str:
    preview = f": {_first_line(event.preview, 50)}" if event.preview else ""
    digest = f" [{event.digest}]" if event.digest else ""
    return f"target {event.target}{preview}{digest}"


@summary.register
def _(event: ev.Deployed) -> str:
    delivered = event.branch
    if delivered is not None and event.branch_only:
        pr = f", pull request {delivered.pull_request}" if delivered.pull_request else ""
        return f"delivered as branch {delivered.branch} at {delivered.commit[:12]}{pr}"
    on = f": branch {delivered.branch} at {delivered.commit[:12]}" if delivered else ""
    return event.url + (" (canary)" if event.canary else "") + on


@summary.register
def _(event: ev.SettingsRecorded) -> str:
    chosen = ", ".join(f"{k}={v}" for k, v in sorted(event.settings.items())) or "the defaults"
    return f"{event.service}: {chosen}"


@summary.register
def _(event: ev.CanaryPromoted) -> str:
    return event.url


@summary.register(ev.RollbackRequested)
@summary.register(ev.JobPaused)
@summary.register(ev.JobCancelled)
def _(event: ev.RollbackRequested | ev.JobPaused | ev.JobCancelled) -> str:
    return event.reason


@summary.register
def _(event: ev.RolledBack) -> str:
    return f"to {event.to_url}" if event.to_url else ""


@summary.register
def _(event: ev.LlmCalled) -> str:
    tokens = f"{event.prompt_tokens}+{event.completion_tokens} tokens"
    return f"{event.role} on {event.model}: {tokens}, ${event.cost_usd:.4f}"


@summary.register
def _(event: ev.StepFailed) -> str:
    return f"{event.step} by {event.service}: {_first_line(event.reason, 80)}"


@summary.register
def _(event: ev.StepRetried) -> str:
    return f"{event.step} by {event.service}"


@summary.register
def _(event: ev.BudgetExceeded) -> str:
    return f"spent ${event.spent_usd:.2f} of ${event.limit_usd:.2f}"


@summary.register
def _(event: ev.BudgetRaised) -> str:
    return f"limit ${event.limit_usd:.2f}"


def event_line(event: Event) -> Text:
    """``v12  TestsPassed      attempt 2: 14/14 passed  (tester)``"""
    said = summary(event)
    text = Text.assemble((f"v{event.version:<3} ", "dim"), (f"{event.name:<22}", "bold"))
    if said:
        text.append(f" {said}")
    text.append(f"  ({event.producer})", style="dim")
    return text


def state_text(state: str) -> Text:
    return Text(state, style=STATE_STYLE.get(state, "cyan"))


def _time(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else ""


def job_table(job: Job) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    ticked, total = checkboxes(job.plan_markdown)
    rows: list[tuple[str, Any]] = [
        ("job", str(job.job_id)),
        ("state", state_text(job.state.value)),
        ("version", str(job.version)),
        ("goal", job.goal),
        ("repo", job.repo or "-"),
        ("tenant / user", f"{job.tenant_id} / {job.user_id or '-'}"),
        ("plan approval", job.plan_approval),
        ("plan", f"{ticked}/{total} checkboxes" if job.plan_markdown else "-"),
        ("attempt", f"{job.attempt} of {job.max_attempts}"),
        ("cost", f"${job.cost_usd:.4f}"),
        ("deployed", job.deployed_url or "-"),
        ("branch", _branch(job.delivered_branch)),
        ("created", _time(job.created_at)),
        ("updated", _time(job.updated_at)),
    ]
    if job.failed_step is not None:
        rows.append(("failed step", f"{job.failed_step} by {job.failed_service}"))
    for key, value in rows:
        table.add_row(key, value)
    return table


def _branch(delivered: ev.DeliveredBranch | None) -> str:
    if delivered is None:
        return "-"
    pr = f", pull request {delivered.pull_request}" if delivered.pull_request else ""
    return f"{delivered.branch} at {delivered.commit} in {delivered.repository}{pr}"


def hit_header(hit: tev.CodeHit, show_repo: bool = False) -> Text:
    """``src/parse.py:3-9  0.823  python``"""
    text = Text.assemble(
        (f"{hit.path}:{hit.start_line}-{hit.end_line}", "bold cyan"), (f"  {hit.score:.3f}", "")
    )
    if hit.language:
        text.append(f"  {hit.language}", style="dim")
    if show_repo and hit.repo:
        text.append(f"  {hit.repo}", style="dim")
    return text


def hit_snippet(hit: tev.CodeHit, indent: int = 4) -> Text:
    pad = " " * indent
    return Text("\n".join(pad + line for line in hit.snippet.rstrip("\n").splitlines()))

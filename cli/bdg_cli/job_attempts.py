"""`bdg job attempts JOB [--attempt N] [--patch]`: each coder/tester round of a job as a compact
block: why it started, what the coder did and spent, what the tests and the review said, and how
it ended."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Annotated
from uuid import UUID

import typer
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from bdg_cli import render
from bdg_cli.context import caller, connected, fail, run
from bdg_cli.records import AsJson, json_text
from bdg_contracts.attempts import (
    Attempt,
    AttemptOutcome,
    AttemptTrigger,
    FileChange,
    TesterReport,
)
from bdg_contracts.events import FailToPass
from bdg_jobs.attempts import AttemptNotFoundError, attempt_of, attempts_of, first_line
from bdg_jobs.domain import Job

ANALYSIS_LINES = 4
FLIPPED_SHOWN = 5
TRIGGER = {
    AttemptTrigger.plan_approved: "plan approved",
    AttemptTrigger.tests_failed: "tests failed at attempt {n}",
    AttemptTrigger.review_rework: "review of attempt {n} asked for rework",
}
SHOWN_ABOVE = frozenset(
    {AttemptOutcome.tests_failed, AttemptOutcome.rework, AttemptOutcome.approved}
)
OUTCOME_STYLE = {
    AttemptOutcome.approved: "bold green",
    AttemptOutcome.in_review: "green",
    AttemptOutcome.tests_failed: "yellow",
    AttemptOutcome.rework: "yellow",
    AttemptOutcome.step_failed: "bold red",
    AttemptOutcome.cancelled: "red",
}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _span(start: datetime, end: datetime | None) -> str:
    if end is None:
        return f"{start:%Y-%m-%d %H:%M:%S} → (going on)"
    seconds = int((end - start).total_seconds())
    return f"{start:%Y-%m-%d %H:%M:%S} → {end:%H:%M:%S} ({seconds // 60}m{seconds % 60:02d}s)"


def _tests(tester: TesterReport) -> Text:
    verdict = Text("passed" if tester.passed else "failed", "green" if tester.passed else "red")
    coverage = f", coverage {tester.coverage:.0f}%" if tester.coverage is not None else ""
    passed = tester.total - tester.failed
    return verdict.append(f": {passed}/{tester.total} passed, {tester.failed} failed{coverage}")


def _fail_to_pass(check: FailToPass) -> Text:
    style = {"proven": "green", "not_proven": "red", "no_test": "red"}.get(check.verdict, "dim")
    text = Text(check.verdict.replace("_", " "), style)
    if check.note:
        text.append(f": {first_line(check.note, 120)}")
    for flipped in check.tests[:FLIPPED_SHOWN]:
        text.append(f"\n{flipped.test} ({flipped.before} before, passes now)")
    if len(check.tests) > FLIPPED_SHOWN:
        text.append(f"\n(+{len(check.tests) - FLIPPED_SHOWN} more)")
    return text


def _outcome(attempt: Attempt) -> Text:
    text = Text(attempt.outcome.value.replace("_", " "), OUTCOME_STYLE.get(attempt.outcome, "cyan"))
    if attempt.next_attempt is not None:
        text.append(f" → attempt {attempt.next_attempt}")
    # A failed test run or a review already has its own lines above: no need to repeat them.
    if attempt.outcome_detail and attempt.outcome not in SHOWN_ABOVE:
        text.append(f": {first_line(attempt.outcome_detail, 120)}")
    return text


def attempt_block(attempt: Attempt, max_attempts: int, patch: bool = False) -> RenderableType:
    trigger = TRIGGER[attempt.trigger.kind].format(n=attempt.trigger.from_attempt)
    header = Text.assemble(
        (f"attempt {attempt.number} of {max_attempts}", "bold"), f"  {trigger}",
        (f"  {_span(attempt.started_at, attempt.ended_at)}", "dim"),
    )  # fmt: skip
    rows = Table.grid(padding=(0, 2))
    rows.add_column(style="bold", no_wrap=True)
    rows.add_column()
    coder = attempt.coder
    rows.add_row("why", first_line(attempt.trigger.detail, 120))
    rows.add_row("coder", first_line(coder.summary, 120) or "-")
    counts = Counter(c.tool for c in coder.tool_calls)
    errors = sum(c.errored for c in coder.tool_calls)
    used = ", ".join(f"{tool} x{n}" for tool, n in counts.most_common())
    rows.add_row("tools", _count(len(coder.tool_calls), "call") + (f": {used}" if used else "")
                 + (f" ({errors} errored)" if errors else ""))  # fmt: skip
    for call in coder.tool_calls:
        mark = Text("✗ ", "red") if call.errored else Text("✓ ", "green")
        line = mark.append(f"{call.tool} {call.arguments}".rstrip())
        if call.status.value not in ("ran", "error"):
            line.append(f" [{call.status.value.replace('_', ' ')}]", "yellow")
        if call.errored:
            line.append(f" → {first_line(call.result, 80)}", "dim")
        rows.add_row("", line)
    if coder.code_context:
        snippets = sum(c.snippets for c in coder.code_context)
        searches = len(coder.code_context)
        rows.add_row("context", f"{_count(snippets, 'snippet')} shown ({searches} retrieved)")
    m = coder.model
    tokens = f"{m.tokens} tokens ({m.prompt_tokens} prompt + {m.completion_tokens} completion)"
    rows.add_row("model", f"{_count(m.calls, 'call')}, {tokens}, ${m.cost_usd:.4f}")
    rows.add_row("files", _files(coder.files) or "-")
    if attempt.tester_files:
        rows.add_row("test files", _files(attempt.tester_files) + " (scaffolded by the tester)")
    if attempt.tester is not None:
        rows.add_row("tests", _tests(attempt.tester))
        if attempt.tester.fail_to_pass is not None:
            rows.add_row("fail-to-pass", _fail_to_pass(attempt.tester.fail_to_pass))
        analysis = [s for s in attempt.tester.analysis.splitlines() if s.strip()]
        if analysis:
            more = len(analysis) - ANALYSIS_LINES
            shown = "\n".join(analysis[:ANALYSIS_LINES])
            rows.add_row("analysis", shown + (f"\n(+{more} lines)" if more > 0 else ""))
    if attempt.review is not None:
        r = attempt.review
        verdict = "approved" if r.approved else "changes requested"
        notes = f": {first_line(r.notes, 100)}" if r.notes else ""
        rows.add_row("review", f"{verdict}, score {r.score}/10{notes}")
    for failure in attempt.failures:
        retried = " (retried)" if failure.retried else ""
        rows.add_row("failed", f"{failure.step} by {failure.service}{retried}: "
                     f"{first_line(failure.reason, 100)}")  # fmt: skip
    rows.add_row("outcome", _outcome(attempt))
    parts: list[RenderableType] = [header, Padding(rows, (0, 0, 0, 2))]
    if patch:
        for change in (*coder.files, *attempt.tester_files):
            parts.append(_diff(change.patch or ""))
    return Group(*parts, Text(""))


def _files(changes: tuple[FileChange, ...]) -> str:
    return "; ".join(f"{', '.join(c.paths)} (+{c.added} -{c.removed})" for c in changes)


def _diff(patch: str) -> Text:
    styles = {"+": "green", "-": "red", "@": "cyan"}
    text = Text()
    for line in patch.splitlines():
        style = "bold" if line.startswith(("+++", "---")) else styles.get(line[:1], "")
        text.append(line + "\n", style)
    return text


def register(app: typer.Typer) -> None:
    @app.command("attempts")
    def attempts_command(
        job_id: Annotated[UUID, typer.Argument(metavar="JOB", help="the job's id")],
        attempt: Annotated[
            int | None, typer.Option("--attempt", min=1, help="only this attempt")
        ] = None,
        patch: Annotated[bool, typer.Option("--patch", help="print the diffs too")] = False,
        as_json: AsJson = False,
        tenant: Annotated[str | None, typer.Option(help="tenant [env BDG_TENANT]")] = None,
        user: Annotated[str | None, typer.Option(help="user [env BDG_USER]")] = None,
    ) -> None:
        """Each coder/tester attempt of the job: trigger, tools, tokens, files, tests, review."""
        console = Console(highlight=False, soft_wrap=True)

        async def main() -> tuple[Job, list[Attempt]]:
            async with connected() as conn:
                history = await conn.commands.events(caller(tenant, user), job_id)
            try:
                chosen = [attempt_of(history, attempt)] if attempt else attempts_of(history)
            except AttemptNotFoundError as error:
                fail(str(error), 1)
            return Job.replay(history), chosen

        job, chosen = run(main())
        if as_json:  # the gateway's /attempts shape; diffs only with --patch, as there
            shown = chosen if patch else [a.without_patches() for a in chosen]
            print(json_text([a.model_dump(mode="json") for a in shown]))
            return
        if not chosen:
            console.print("no attempts yet: the job is", render.state_text(job.state.value))
        for one in chosen:
            console.print(attempt_block(one, job.max_attempts, patch))

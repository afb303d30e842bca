"""`bdg job show|plan|tools|approve-tool|deny-tool|budget` on real PostgreSQL and NATS: a job
says what it waits for and the exact command that continues it, why it failed, its last test
analysis and its plan."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

import pytest

from bdg_contracts import events as ev
from bdg_contracts import tool_events as tev
from bdg_contracts.states import Step
from bdg_jobs.domain import Cause, Job
from tests.integration.test_cli import Bdg, bdg  # noqa: F401  (fixture)

pytestmark = pytest.mark.timeout(60)
ANALYSIS = (
    "## Test analysis\n\n1 of 3 tests failed: `test_mul` expected 6, got 5.\n\n"
    "### 1. mul adds (1 test)\n\n**Fix:** multiply in calc/ops.py"
)


Decision = Callable[[Job, Cause], object]


async def decide(cli: Bdg, job_id: UUID, decision: Decision) -> None:
    def run(job: Job) -> None:
        decision(job, Cause(producer="coder", occurred_at=datetime.now(UTC)))

    await cli.app.execute(job_id, run)


def gate(call_id: str, command: str) -> Decision:
    def ask(job: Job, cause: Cause) -> None:
        job.request_tool_approval(
            cause,
            call_id=call_id,
            tool="run_command",
            arguments_json=json.dumps({"command": command}),
            idempotency_key=f"key-{call_id}",
            reason="run_command is gated",
        )

    return ask


async def coding_job(cli: Bdg) -> UUID:
    job_id = await cli.create("gate me")
    await cli.drive(job_id, "plan")
    await cli("job", "approve", str(job_id))
    return job_id


async def test_a_gated_call_is_shown_listed_approved_and_denied(bdg: Bdg) -> None:  # noqa: F811
    job_id = await coding_job(bdg)
    first, second = "01HZX" + "0" * 20 + "1", "01HZX" + "0" * 20 + "2"
    await decide(bdg, job_id, gate(first, "make deploy"))

    shown = (await bdg("job", "show", str(job_id))).stdout
    assert re.search(r"state\s+paused", shown)
    assert "waits for a gated tool call" in shown
    assert f"{first}: run_command command='make deploy' (run_command is gated)" in shown
    assert f"bdg job approve-tool {job_id} {first}" in shown
    assert f"bdg job deny-tool {job_id} {first} --reason" in shown

    listed = (await bdg("job", "tools", str(job_id))).stdout
    assert first in listed
    assert "make deploy" in listed
    calls = json.loads((await bdg("job", "tools", str(job_id), "--json")).stdout)
    assert [(c["call_id"], c["tool"], json.loads(c["arguments"])) for c in calls] == [
        (first, "run_command", {"command": "make deploy"})
    ]
    assert set(calls[0]) == {
        "call_id", "tool", "arguments", "reason", "requested_at", "requested_by", "approve",
        "deny",
    }  # fmt: skip

    refused = await bdg("job", "approve-tool", str(job_id), second, code=1)
    assert f"no tool call {second} awaits approval" in refused.stderr
    before = len(await bdg.app.history(job_id))

    approved = (await bdg("job", "approve-tool", str(job_id), first)).stdout
    assert re.search(rf"^v{before + 1}\s+ToolCallApproved", approved, re.M)
    assert "job is now coding" in approved
    assert "waits on no tool call" in (await bdg("job", "tools", str(job_id))).stdout

    await decide(bdg, job_id, gate(second, "rm -rf /"))
    denied = (await bdg("job", "deny-tool", str(job_id), second, "--reason", "no")).stdout
    assert "ToolCallDenied" in denied
    assert "job is now coding" in denied
    last = (await bdg.app.history(job_id))[-1]
    assert isinstance(last, tev.ToolCallDenied)
    assert last.reason == "no"
    assert "waits for" not in (await bdg("job", "show", str(job_id))).stdout  # coding


async def test_show_tells_each_wait_and_its_command(bdg: Bdg) -> None:  # noqa: F811
    job_id = await bdg.create("wait for people")
    await bdg.drive(job_id, "plan")
    shown = (await bdg("job", "show", str(job_id), "--plan")).stdout
    assert "waits for plan approval" in shown
    assert f"bdg job approve {job_id}\n" in shown
    assert f"bdg job plan {job_id}" in shown
    assert "- [ ] one\n" in shown.split("plan\n", 1)[-1]  # --plan: the plan itself

    await bdg("job", "pause", str(job_id), "--reason", "lunch")
    shown = (await bdg("job", "show", str(job_id))).stdout
    assert "paused by user:alice: lunch" in shown
    assert f"bdg job resume {job_id}" in shown
    await bdg("job", "resume", str(job_id))

    await bdg("job", "approve", str(job_id))
    await decide(bdg, job_id, lambda j, c: j.exceed_budget(c, 1.0, 1.25, f"job:acme:{job_id}", ""))
    shown = (await bdg("job", "show", str(job_id))).stdout
    assert "waits for budget" in shown
    assert "spent $1.2500 of $1.0000" in shown
    command = re.search(rf"bdg job budget {job_id} --limit [\d.]+", shown)
    assert command is not None, shown
    raised = (await bdg(*command[0].split()[1:])).stdout  # the printed command, as typed
    assert "BudgetRaised" in raised
    assert "job is now coding" in raised

    await bdg.drive(job_id, "code", "test", "review", "ask_deploy")
    shown = (await bdg("job", "show", str(job_id))).stdout
    assert "waits for deploy approval" in shown
    assert "to preview" in shown
    assert f"bdg job approve {job_id} --deploy" in shown


async def test_a_failed_job_shows_its_reason_and_last_analysis(bdg: Bdg) -> None:  # noqa: F811
    job_id = await coding_job(bdg)

    def fail(job: Job, cause: Cause) -> None:
        job.change_files(cause, "+x", ("calc/ops.py",))
        job.finish_coding(cause)
        job.fail_tests(cause, ev.TestResults(total=3, failed=1), ANALYSIS)
        job.fail_step(
            cause, Step.coding, "coder", "ModelError: the endpoint refused\nline two", job.version
        )

    await decide(bdg, job_id, fail)
    shown = (await bdg("job", "show", str(job_id))).stdout
    assert re.search(r"state\s+failed", shown)
    assert "failure reason\n  ModelError: the endpoint refused\n  line two" in shown
    assert "last test analysis (attempt 1)" in shown
    assert "`test_mul` expected 6, got 5." in shown
    assert "**Fix:** multiply in calc/ops.py" in shown
    assert f"bdg job retry {job_id}" in shown

    events = (await bdg("job", "events", str(job_id))).stdout
    line = next(x for x in events.splitlines() if "TestsFailed" in x)
    assert "2/3 passed, 1 failed (1 of 3 tests failed: `test_mul` expected 6, got 5.)" in line
    assert "## Test analysis" not in events


def drafts(job: Job, cause: Cause) -> None:
    job.draft_plan(cause, "# Plan\n- [ ] add\n", 1)
    job.critique_plan(cause, 1, 4)
    job.draft_plan(cause, "# Plan\n- [ ] add\n- [ ] test\n", 2)
    job.make_plan_ready(cause, "# Plan\n- [ ] add\n- [ ] test\n")


async def test_job_plan_lists_versions_prints_one_and_diffs_two(bdg: Bdg) -> None:  # noqa: F811
    job_id = await bdg.create("plan me")
    assert "has no plan yet" in (await bdg("job", "plan", str(job_id))).stdout
    await decide(bdg, job_id, drafts)

    listed = (await bdg("job", "plan", str(job_id))).stdout
    rows = re.findall(r"^\s*(\d)\s+(draft|ready|edit)\s", listed, re.M)
    assert rows == [("1", "draft"), ("2", "draft"), ("3", "ready")], listed
    assert listed.rstrip().endswith("# Plan\n- [ ] add\n- [ ] test")

    first = (await bdg("job", "plan", str(job_id), "--version", "1")).stdout
    assert "plan v1 (draft, coder):" in first
    assert first.rstrip().endswith("# Plan\n- [ ] add")

    diff = (await bdg("job", "plan", str(job_id), "--diff", "1", "2")).stdout
    assert diff.startswith("--- plan v1 (draft, coder)\n+++ plan v2 (draft, coder)\n")
    assert "+- [ ] test\n" in diff

    versions = json.loads((await bdg("job", "plan", str(job_id), "--json")).stdout)
    assert [(v["number"], v["kind"]) for v in versions] == [
        (1, "draft"),
        (2, "draft"),
        (3, "ready"),
    ]
    assert set(versions[0]) == {"number", "kind", "author", "event_version", "at", "markdown"}

    missing = await bdg("job", "plan", str(job_id), "--version", "4", code=1)
    assert "no plan version 4 (the job has 3)" in missing.stderr
    await bdg("job", "plan", str(job_id), "--diff", "1", "9", code=1)

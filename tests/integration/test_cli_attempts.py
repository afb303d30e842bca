"""`bdg job attempts` against real PostgreSQL and NATS (typer's runner in a worker thread); the job
is moved on as the coder and tester would, through the aggregate."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from uuid import UUID

import pytest

from bdg_contracts import events as ev
from bdg_jobs.domain import Cause, Job
from tests.integration.test_cli import Bdg, bdg  # noqa: F401  (fixture)

pytestmark = pytest.mark.timeout(60)
PATCH = "--- a/todo.py\n+++ b/todo.py\n@@ -1 +1,2 @@\n-pass\n+def add(): ...\n+def done(): ...\n"


def two_attempts(job: Job) -> None:
    """Attempt 1 fails its tests, attempt 2 passes and the review approves."""
    cause = Cause(producer="test", occurred_at=datetime.now(UTC))
    job.make_plan_ready(cause, "- [ ] add\n- [ ] done")
    job.approve_plan(cause, "alice")
    for n, summary in ((1, "added add()"), (2, "added done() too")):
        job.record_llm_call(cause, role="coder", model="m", request_hash=f"h{n}", response="r",
                            prompt_tokens=200, completion_tokens=40, cost_usd=0.003)  # fmt: skip
        job.call_tool(cause, tool="file_read", arguments_json='{"path": "todo.py"}',
                      result="pass", idempotency_key=f"read-{n}")  # fmt: skip
        job.call_tool(cause, tool="run_tests", arguments_json="{}",
                      result='{"error": "sandbox busy"}', idempotency_key=f"run-{n}")  # fmt: skip
        job.change_files(cause, PATCH, ("todo.py",))
        job.finish_coding(cause, summary)
        if n == 1:
            results = ev.TestResults(total=3, failed=2, output_tail="2 failed")
            job.fail_tests(cause, results, "test_done fails: done() is missing\nline two\n")
    job.pass_tests(cause, ev.TestResults(total=3, failed=0, coverage=75.0))
    job.complete_review(cause, approved=True, score=8, notes="small and tested")


async def test_attempts_one_attempt_and_patches(bdg: Bdg) -> None:  # noqa: F811  (the fixture)
    job_id = await bdg.create("a todo module")
    none_yet = (await bdg("job", "attempts", str(job_id))).stdout
    assert "no attempts yet: the job is planning" in none_yet

    await bdg.app.execute(job_id, two_attempts)
    shown = (await bdg("job", "attempts", str(job_id))).stdout
    assert re.search(r"attempt 1 of 5\s+plan approved", shown)
    assert re.search(r"attempt 2 of 5\s+tests failed at attempt 1", shown)
    assert re.search(r"coder\s+added add\(\)", shown)
    assert re.search(r"tools\s+2 calls: file_read x1, run_tests x1 \(1 errored\)", shown)
    assert '✗ run_tests → {"error": "sandbox busy"}' in shown
    assert re.search(r"model\s+1 call, 240 tokens \(200 prompt \+ 40 completion\)", shown)
    assert re.search(r"files\s+todo.py \(\+2 -1\)", shown)
    assert re.search(r"tests\s+failed: 1/3 passed, 2 failed", shown)
    assert re.search(r"analysis\s+test_done fails: done\(\) is missing", shown)
    assert re.search(r"outcome\s+tests failed → attempt 2", shown)
    assert re.search(r"tests\s+passed: 3/3 passed, 0 failed, coverage 75%", shown)
    assert re.search(r"review\s+approved, score 8/10: small and tested", shown)
    assert re.search(r"outcome\s+approved", shown)
    assert "+def add(): ..." not in shown  # no diffs unless asked

    second = (await bdg("job", "attempts", str(job_id), "--attempt", "2", "--patch")).stdout
    assert "attempt 1 of 5" not in second
    assert "added done() too" in second
    assert "+def done(): ..." in second
    assert "--- a/todo.py" in second


async def test_unknown_attempts_and_other_tenants_fail_cleanly(bdg: Bdg) -> None:  # noqa: F811  (the fixture)
    job_id = await bdg.create("a todo module")
    await bdg.app.execute(job_id, two_attempts)
    missing = await bdg("job", "attempts", str(job_id), "--attempt", "3", code=1)
    assert "no attempt 3: the job has only 2" in missing.output
    other = await bdg("job", "attempts", str(job_id), "--tenant", "globex", code=1)
    assert "attempt 1" not in other.output
    await bdg("job", "attempts", str(UUID(int=0)), code=1)

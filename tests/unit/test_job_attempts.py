"""A job's attempts, projected from histories the aggregate itself made."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from rich.console import Console

from bdg_cli.job_attempts import attempt_block
from bdg_contracts import events as ev
from bdg_contracts import tool_events as tev
from bdg_contracts.attempts import AttemptOutcome, AttemptTrigger, ToolCallStatus
from bdg_contracts.states import Step
from bdg_jobs.attempts import AttemptNotFoundError, attempt_of, attempts_of
from bdg_jobs.domain import Cause, Job
from tests.unit.jobs import CAUSE, new_job

FAILED = ev.TestResults(total=4, failed=1, coverage=80.0, output_tail="E assert 1 == 2")
PASSED = ev.TestResults(total=4, failed=0, coverage=91.5, output_tail="4 passed")
PATCH = "--- a/calc.py\n+++ b/calc.py\n@@ -1 +1,2 @@\n-x = 1\n+x = 2\n+y = 3\n"


def at(minutes: int) -> Cause:
    return replace(CAUSE, occurred_at=CAUSE.occurred_at + timedelta(minutes=minutes))


def approved(**fields: object) -> Job:
    job = new_job(**fields)
    job.make_plan_ready(CAUSE, "- [ ] step")
    job.approve_plan(at(1), "alice")
    return job


def code(job: Job, minute: int, summary: str = "changed calc") -> None:
    """What the coder records in one attempt: context, two model calls, tool calls, a patch."""
    cause = at(minute)
    hit = tev.CodeHit(path="calc.py", start_line=1, end_line=2, snippet="x = 1", score=0.9)
    job.record_code_context(cause, query="calc", repo="r", hits=(hit, hit))
    for tokens in (100, 50):
        job.record_llm_call(cause, role="coder", model="m", request_hash="h", response="r",
                            prompt_tokens=tokens, completion_tokens=10, cost_usd=0.01)  # fmt: skip
    job.call_tool(cause, tool="file_read", arguments_json=json.dumps({"path": "calc.py"}),
                  result="x = 1\n" * 200, idempotency_key=f"k-read-{job.attempt}")  # fmt: skip
    job.call_tool(cause, tool="run_command", arguments_json=json.dumps({"command": "make x"}),
                  result=json.dumps({"error": "no such target"}),
                  idempotency_key=f"k-run-{job.attempt}")  # fmt: skip
    job.change_files(cause, PATCH, ("calc.py",))
    job.finish_coding(cause, summary)


def test_one_attempt_that_passes_and_is_approved() -> None:
    job = approved()
    code(job, 2)
    job.pass_tests(at(3), PASSED)
    job.complete_review(at(4), approved=True, score=9, notes="clean\nmore notes")
    (attempt,) = attempts_of(job.collect())

    assert attempt.number == 1
    assert attempt.trigger.kind == AttemptTrigger.plan_approved
    assert "alice" in attempt.trigger.detail
    assert (attempt.started_at, attempt.ended_at) == (at(1).occurred_at, at(4).occurred_at)
    coder = attempt.coder
    assert coder.summary == "changed calc"
    assert coder.finished_at == at(2).occurred_at
    assert (coder.model.calls, coder.model.tokens) == (2, 170)
    assert coder.model.cost_usd == pytest.approx(0.02)
    assert [c.snippets for c in coder.code_context] == [2]
    read, run = coder.tool_calls
    assert (read.tool, read.arguments, read.status, read.errored) == (
        "file_read", "path=calc.py", ToolCallStatus.ran, False,
    )  # fmt: skip
    assert len(read.result) <= 400 < read.result_chars
    assert (run.status, run.errored, run.arguments) == (ToolCallStatus.error, True,
                                                        "command='make x'")  # fmt: skip
    (files,) = coder.files
    assert (files.paths, files.added, files.removed, files.patch) == (("calc.py",), 2, 1, PATCH)
    assert attempt.tester is not None
    assert (attempt.tester.passed, attempt.tester.total, attempt.tester.coverage) == (
        True, 4, 91.5,
    )  # fmt: skip
    assert attempt.review is not None
    assert (attempt.review.approved, attempt.review.score) == (True, 9)
    assert (attempt.outcome, attempt.outcome_detail) == (AttemptOutcome.approved, "clean")
    assert attempt.without_patches().coder.files[0].patch is None


def test_a_refused_fail_to_pass_check_triggers_the_next_attempt_saying_so() -> None:
    job = approved()
    code(job, 2)
    check = ev.FailToPass(verdict="not_proven", test_files=("tests/test_calc.py",))
    refused = ev.TestResults(total=4, failed=0, fail_to_pass=check)
    job.fail_tests(at(3), refused, "no test of the change fails without it")
    code(job, 4, "a test that fails first")
    _, second = attempts_of(job.collect())
    assert second.trigger.detail == (
        "all 4 tests passed, but none of them fails without the change: "
        "no test of the change fails without it"
    )


def test_a_failed_attempt_leads_to_the_next_that_passes() -> None:
    job = approved()
    code(job, 2)
    job.fail_tests(at(3), FAILED, "test_calc fails: x is 2\nE assert ...")
    code(job, 4, "fixed x")
    job.pass_tests(at(5), PASSED)
    first, second = attempts_of(job.collect())

    assert first.tester is not None
    assert (first.tester.passed, first.tester.failed, first.tester.output_tail) == (
        False, 1, "E assert 1 == 2",
    )  # fmt: skip
    assert first.tester.analysis.startswith("test_calc fails")
    assert (first.outcome, first.next_attempt, first.ended_at) == (
        AttemptOutcome.tests_failed, 2, at(3).occurred_at,
    )  # fmt: skip
    assert second.trigger.kind == AttemptTrigger.tests_failed
    assert second.trigger.from_attempt == 1
    assert second.trigger.detail == "1 of 4 tests failed: test_calc fails: x is 2"
    assert second.started_at == at(3).occurred_at
    assert second.coder.summary == "fixed x"
    # Each attempt has only its own calls, though the coder's keys and tools repeat.
    assert len(first.coder.tool_calls) == len(second.coder.tool_calls) == 2
    assert (second.outcome, second.ended_at, second.review) == (AttemptOutcome.in_review, None,
                                                                None)  # fmt: skip


def test_five_failed_attempts_end_in_a_failed_step() -> None:
    job = approved()
    for n in range(5):
        code(job, 2 + 2 * n, f"try {n + 1}")
        job.fail_tests(at(3 + 2 * n), FAILED, f"still failing {n + 1}")
    attempts = attempts_of(job.collect())

    assert [a.number for a in attempts] == [1, 2, 3, 4, 5]
    assert [a.outcome for a in attempts] == [AttemptOutcome.tests_failed] * 4 + [
        AttemptOutcome.step_failed
    ]
    assert [a.next_attempt for a in attempts] == [2, 3, 4, 5, None]
    last = attempts[-1]
    (failure,) = last.failures
    assert (failure.step, failure.retried) == (Step.testing, False)
    assert last.outcome_detail == failure.reason
    assert "after 5 attempts" in failure.reason
    assert last.tester is not None
    assert last.tester.analysis == "still failing 5"
    assert last.ended_at == at(11).occurred_at


def test_a_review_asking_for_rework_starts_an_attempt_then_a_second_refusal_fails() -> None:
    job = approved()
    code(job, 2)
    job.pass_tests(at(3), PASSED)
    job.complete_review(at(4), approved=False, score=4, notes="no tests for y")
    code(job, 5, "tested y")
    job.pass_tests(at(6), PASSED)
    job.complete_review(at(7), approved=False, score=5, notes="still thin")
    first, second = attempts_of(job.collect())

    assert first.review is not None
    assert (first.review.approved, first.review.notes) == (False, "no tests for y")
    assert (first.outcome, first.next_attempt) == (AttemptOutcome.rework, 2)
    assert second.trigger.kind == AttemptTrigger.review_rework
    assert (second.trigger.from_attempt, second.trigger.detail) == (
        1, "review scored 4/10: no tests for y",
    )  # fmt: skip
    assert second.review is not None
    assert second.review.score == 5
    assert second.outcome == AttemptOutcome.step_failed
    assert second.failures[0].step == Step.reviewing


def test_attempts_in_progress_show_where_they_are() -> None:
    job = approved(max_attempts=3)
    history = job.collect()
    assert attempts_of(history)[0].outcome == AttemptOutcome.coding
    job.request_tool_approval(at(2), call_id="c1", tool="run_command",
                              arguments_json='{"command": "rm -rf build"}',
                              idempotency_key="k-gated", reason="gated")  # fmt: skip
    history += job.collect()
    (attempt,) = attempts_of(history)
    assert attempt.outcome == AttemptOutcome.coding
    assert "run_command" in attempt.outcome_detail
    assert attempt.coder.tool_calls[0].status == ToolCallStatus.awaiting_approval
    job.approve_tool_call(at(3), "c1", "bob")
    job.call_tool(at(3), tool="run_command", arguments_json='{"command": "rm -rf build"}',
                  result="ok", idempotency_key="k-gated")  # fmt: skip
    job.change_files(at(3), PATCH, ("calc.py",))
    job.finish_coding(at(3), "cleaned")
    history += job.collect()
    (attempt,) = attempts_of(history)
    (call,) = attempt.coder.tool_calls  # the request and its run are one call
    assert (call.status, call.approved_by, call.result) == (ToolCallStatus.ran, "bob", "ok")
    assert (attempt.outcome, attempt.ended_at) == (AttemptOutcome.testing, None)


def test_a_retried_failure_lets_the_attempt_go_on_and_a_cancel_ends_it() -> None:
    job = approved()
    code(job, 2)
    job.fail_step(at(3), Step.testing, "tester", "sandbox down", job.version)
    history = job.collect()
    assert attempts_of(history)[0].outcome == AttemptOutcome.step_failed
    job.retry_step(at(4))
    history += job.collect()
    (attempt,) = attempts_of(history)
    assert attempt.failures[0].retried
    assert (attempt.outcome, attempt.ended_at) == (AttemptOutcome.testing, None)
    job.cancel(at(5), "enough")
    history += job.collect()
    (attempt,) = attempts_of(history)
    assert (attempt.outcome, attempt.outcome_detail) == (AttemptOutcome.cancelled, "enough")


def test_no_attempt_before_the_plan_is_approved_and_unknown_numbers_say_so() -> None:
    job = new_job()
    job.make_plan_ready(CAUSE, "- [ ] step")
    history = job.collect()
    assert attempts_of(history) == []
    assert attempts_of([]) == []
    with pytest.raises(AttemptNotFoundError, match="no attempt 1: the job has none yet"):
        attempt_of(history, 1)
    job.approve_plan(CAUSE, "alice")
    history += job.collect()
    assert attempt_of(history, 1).number == 1
    with pytest.raises(AttemptNotFoundError, match="no attempt 2: the job has only 1"):
        attempt_of(history, 2)


def test_tests_the_tester_scaffolds_are_its_own_and_denied_calls_errored() -> None:
    job = approved()
    job.request_tool_approval(at(2), call_id="c1", tool="run_command",
                              arguments_json='{"command": "curl x"}', idempotency_key="k",
                              reason="gated")  # fmt: skip
    job.deny_tool_call(at(2), "c1", "bob", "no network")
    job.finish_coding(at(3), "nothing to change")
    job.change_files(at(4), PATCH, ("test_calc.py",))  # while testing: the tester's
    job.pass_tests(at(4), PASSED)
    (attempt,) = attempts_of(job.collect())
    (call,) = attempt.coder.tool_calls
    assert (call.status, call.errored, call.result) == (
        ToolCallStatus.denied, True, "denied by bob: no network",
    )  # fmt: skip
    assert attempt.coder.files == ()
    assert [f.paths for f in attempt.tester_files] == [("test_calc.py",)]
    assert attempt.without_patches().tester_files[0].patch is None


def test_the_fail_to_pass_check_shows_in_the_attempt_and_its_cli_block() -> None:
    refused = ev.FailToPass(verdict="not_proven", test_files=("tests/t.py",), note="no test fails")
    flip = ev.FlippedTest(test="tests.t::test_mul", before="failed")
    proven = ev.FailToPass(verdict="proven", tests=(flip,), note="1 test(s) fail on the base")
    job = approved()
    code(job, 2)
    job.fail_tests(at(3), FAILED.model_copy(update={"fail_to_pass": refused}), "no test fails")
    code(job, 4, "added a test")
    job.pass_tests(at(5), PASSED.model_copy(update={"fail_to_pass": proven}))
    first, second = attempts_of(job.collect())
    assert first.tester is not None
    assert first.tester.fail_to_pass == refused
    assert second.tester is not None
    assert second.tester.fail_to_pass == proven

    console = Console(width=200, record=True, color_system=None)
    console.print(attempt_block(second, 5))
    shown = console.export_text()
    assert "fail-to-pass  proven: 1 test(s) fail on the base" in shown
    assert "tests.t::test_mul (failed before, passes now)" in shown
    console.print(attempt_block(first, 5))
    assert "fail-to-pass  not proven: no test fails" in console.export_text()

"""Pure logic of the step services and the recorded-answers file they read."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from pydantic import ValidationError

from bdg_coder.domain import feedback_of, needs_rework
from bdg_coder.recorded import CoderScript
from bdg_contracts import events as ev
from bdg_deployer.domain import ready_to_ship
from bdg_deployer.recorded import DeployerScript
from bdg_planner.adapters import AbstractPlanner
from bdg_planner.application import Planning
from bdg_planner.domain import (
    CriticPolicy,
    Critique,
    CritiqueTask,
    DraftTask,
    Iteration,
    final_plan,
    review_round,
)
from bdg_planner.recorded import PlannerScript
from bdg_runtime.answers import (
    Answers,
    AnswersError,
    AnswersSettings,
    answers_from_env,
    load_answers,
    pick,
)
from bdg_tester.domain import TestRun
from bdg_tester.recorded import TesterScript, TestRunAnswer
from tests.unit.jobs import CAUSE, new_job

pytestmark = pytest.mark.timeout(10)

REFERENCE = Path(__file__).parents[2] / "examples" / "reference-job.json"
REFERENCE_GOAL = "Create a React PWA that stores notes in IndexedDB and works offline"


# -- choosing recorded entries ------------------------------------------------------------------
@pytest.mark.parametrize(("number", "expected"), [(1, "a"), (2, "b"), (3, "c"), (4, "c"), (9, "c")])
def test_pick_chooses_by_number_and_clamps_to_the_last(number: int, expected: str) -> None:
    assert pick(["a", "b", "c"], number) == expected


def test_pick_refuses_nothing_and_numbers_below_one() -> None:
    with pytest.raises(AnswersError):
        pick([], 1)
    with pytest.raises(ValueError, match="start at 1"):
        pick(["a"], 0)


# -- the answers file ---------------------------------------------------------------------------
def reference() -> Answers:
    return load_answers(REFERENCE)


def test_reference_file_scripts_the_reference_goal() -> None:
    goal = f"  {REFERENCE_GOAL}\n"
    answers = reference()
    planned = answers.read(PlannerScript).script_for(goal)
    assert len(planned.plan.drafts) == 2
    assert [c.score for c in planned.plan.critiques] == [6, 9]
    assert all("- [ ]" in d for d in planned.plan.drafts)
    assert [t.passed for t in answers.read(TesterScript).script_for(goal).tests] == [False, True]
    assert planned.review[0].approved
    assert answers.read(DeployerScript).script_for(goal).deploy.target == "preview"
    script = answers.read(CoderScript).script_for(goal)
    for attempt in script.coding:
        for patch in attempt.patches:
            for path in patch.paths:
                assert f"+++ b/{path}\n" in patch.patch
    created = {p for patch in script.coding[0].patches for p in patch.paths}
    assert {"package.json", "src/db.ts", "src/App.tsx"} <= created


def test_a_goal_without_script_falls_back_to_the_default_or_fails_clearly() -> None:
    answers = reference()
    with pytest.raises(AnswersError, match=r"reference-job\.json"):
        answers.read(DeployerScript).script_for("something else")
    with_default = answers.model_copy(update={"default": answers.goals[REFERENCE_GOAL]})
    deploys = with_default.read(DeployerScript)
    assert deploys.script_for("something else").deploy.target == "preview"


def test_no_answers_file_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BDG_ANSWERS_FILE", raising=False)
    answers = answers_from_env()
    with pytest.raises(AnswersError, match="BDG_ANSWERS_FILE"):
        answers.read(PlannerScript).script_for(REFERENCE_GOAL)
    assert "BDG_ANSWERS_FILE" in answers.describe()


def test_answers_file_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BDG_ANSWERS_FILE", str(REFERENCE))
    assert AnswersSettings().bdg_answers_file == REFERENCE
    script = answers_from_env().read(PlannerScript).script_for(REFERENCE_GOAL)
    assert script.plan.critiques[1].score == 9


def test_broken_answers_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(AnswersError, match="cannot read"):
        load_answers(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"goals": ["not", "scripts"]}')
    with pytest.raises(AnswersError, match="invalid answers file"):
        load_answers(bad)
    # Each service checks its own sections: the planner refuses an empty plan.
    empty_plan = tmp_path / "empty-plan.json"
    empty_plan.write_text('{"goals": {"g": {"plan": {"drafts": [], "critiques": []}}}}')
    with pytest.raises(AnswersError, match=r"invalid answers file .*empty-plan\.json"):
        load_answers(empty_plan).read(PlannerScript)


def test_a_recorded_test_run_is_consistent() -> None:
    with pytest.raises(ValidationError):
        TestRunAnswer(passed=True, total=3, failed=1)
    with pytest.raises(ValidationError):
        TestRunAnswer(passed=False, total=1, failed=2)


# -- planner ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("iteration", "score", "stop"),
    [(1, 6, False), (1, 8, True), (2, 9, True), (2, 7, False), (3, 1, True)],
)
def test_critic_loop_stops_at_threshold_or_max_iterations(
    iteration: int, score: int, stop: bool
) -> None:
    policy = CriticPolicy(threshold=8, max_iterations=3)
    assert policy.should_stop(iteration, Critique(score)) is stop


def test_critic_policy_rejects_impossible_settings() -> None:
    with pytest.raises(ValueError, match="score"):
        CriticPolicy(threshold=11)
    with pytest.raises(ValueError, match="iteration"):
        CriticPolicy(max_iterations=0)


def test_final_plan_is_the_best_scored_and_the_later_on_ties() -> None:
    def it(n: int, score: int) -> Iteration:
        return Iteration(n, f"plan {n}", Critique(score))

    assert final_plan([it(1, 6), it(2, 9)]) == "plan 2"
    assert final_plan([it(1, 7), it(2, 5), it(3, 6)]) == "plan 1"
    assert final_plan([it(1, 7), it(2, 7)]) == "plan 2"
    with pytest.raises(ValueError, match="no iteration"):
        final_plan([])


def test_review_rounds_count_from_one() -> None:
    assert [review_round(r) for r in (0, 1)] == [1, 2]


class FakePlanner(AbstractPlanner):
    def __init__(self, scores: Sequence[int]) -> None:
        self.scores = scores
        self.drafts: list[DraftTask] = []

    async def draft(self, task: DraftTask) -> str:
        self.drafts.append(task)
        return f"- [ ] plan {task.iteration}"

    async def critique(self, task: CritiqueTask) -> Critique:
        return Critique(pick(self.scores, task.iteration), changes=(f"fix {task.iteration}",))


@pytest.mark.parametrize(
    ("scores", "iterations"), [((9,), 1), ((6, 9), 2), ((3, 4, 5, 9), 3), ((8,), 1)]
)
async def test_critic_loop_revises_with_feedback_until_it_stops(
    scores: tuple[int, ...], iterations: int
) -> None:
    planner = FakePlanner(scores)
    planning = Planning(planner, reviewer=None, policy=CriticPolicy(8, 3))  # type: ignore[arg-type]
    done = await planning.critic_loop("goal")
    assert [i.number for i in done] == list(range(1, iterations + 1))
    assert planner.drafts[0].feedback is None
    assert planner.drafts[0].previous is None
    for before, task in zip(done, planner.drafts[1:], strict=False):
        assert task.previous == before.plan_markdown
        assert task.feedback == before.critique


# -- coder, tester, deployer --------------------------------------------------------------------
def _review(approved: bool) -> ev.ReviewCompleted:
    job = new_job()
    job.make_plan_ready(CAUSE, "- [ ] x")
    job.approve_plan(CAUSE, "alice")
    job.finish_coding(CAUSE)
    job.pass_tests(CAUSE, ev.TestResults(total=1))
    job.complete_review(CAUSE, approved=approved, score=4, notes="no offline fallback")
    review = job.collect()[-1]
    assert isinstance(review, ev.ReviewCompleted)
    return review


def test_a_rejecting_review_goes_to_the_coder_an_approving_one_to_the_deployer() -> None:
    rejected, approved = _review(False), _review(True)
    assert needs_rework(rejected)
    assert not ready_to_ship(rejected)
    assert ready_to_ship(approved)
    assert not needs_rework(approved)
    assert "no offline fallback" in feedback_of(rejected)


def test_coding_feedback_comes_from_failed_tests() -> None:
    job = new_job()
    job.make_plan_ready(CAUSE, "- [ ] x")
    job.approve_plan(CAUSE, "alice")
    job.finish_coding(CAUSE)
    results = ev.TestResults(total=4, failed=4, output_tail="ReferenceError: indexedDB")
    job.fail_tests(CAUSE, results, "jsdom has no IndexedDB")
    failed = job.pending[-1]
    text = feedback_of(failed)
    assert "4 of 4 tests failed" in text
    assert "jsdom has no IndexedDB" in text
    assert "ReferenceError" in text
    plan_approved = next(e for e in job.pending if isinstance(e, ev.PlanApproved))
    assert feedback_of(plan_approved) == ""


@pytest.mark.parametrize(
    ("verdict", "total", "head"),
    [
        ("not_proven", 4, "attempt 1: all 4 tests passed, but none of them fails without"),
        ("no_test", 1, "attempt 1: the test passed, but the change adds no test, and none of"),
    ],
)
def test_a_refused_fail_to_pass_says_the_tests_passed_but_prove_nothing(
    verdict: ev.FailToPassVerdict, total: int, head: str
) -> None:
    job = new_job()
    job.make_plan_ready(CAUSE, "- [ ] x")
    job.approve_plan(CAUSE, "alice")
    job.finish_coding(CAUSE)
    check = ev.FailToPass(verdict=verdict, test_files=("tests/test_x.py",), note="none flips")
    results = ev.TestResults(total=total, failed=0, fail_to_pass=check)
    job.fail_tests(CAUSE, results, "## Test analysis\n\nThe tests passed, but ...")
    text = feedback_of(job.pending[-1])
    assert text.startswith(head)
    assert "0 of" not in text
    assert "## Test analysis" in text


@pytest.mark.parametrize(
    ("said", "total", "failed", "passed", "why"),
    [
        (True, 4, 0, True, ""),
        (False, 4, 2, False, "2 of 4 tests failed"),
        (True, 0, 0, False, "no tests ran"),
    ],
)
def test_a_test_run_passes_only_when_tests_ran_and_none_failed(
    said: bool, total: int, failed: int, passed: bool, why: str
) -> None:
    run = TestRun(ev.TestResults(total=total, failed=failed), said)
    assert run.passed is passed
    if not passed:
        assert run.why_failed == why


async def test_a_tenant_that_chose_its_bar_gets_it_and_others_the_services() -> None:
    from bdg_jobs.tenants import TenantPolicies, TenantPolicy

    tenants = TenantPolicies(
        tenants={"picky": TenantPolicy(plan_score_threshold=10, plan_max_iterations=4)}
    )
    planning = Planning(
        FakePlanner((9,)),
        reviewer=None,
        policy=CriticPolicy(8, 3),  # type: ignore[arg-type]
        tenants=tenants,
    )
    assert planning.policy_for("picky") == CriticPolicy(10, 4)
    assert planning.policy_for("relaxed") == CriticPolicy(8, 3)
    picky = await planning.critic_loop("goal", planning.policy_for("picky"))
    assert len(picky) == 4  # 9 never reaches 10: the limit ends it
    relaxed = await planning.critic_loop("goal", planning.policy_for("relaxed"))
    assert len(relaxed) == 1

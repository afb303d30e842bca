"""The sandbox runner's pure parts: the task from a job's history, console counts, one verdict
from several projects, the sandbox environment, the composition, and replays that never run
tests again."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bdg_jobs.domain import Cause, Job
from bdg_runtime import service
from bdg_runtime.answers import Answers
from bdg_runtime.job_replay import replay_job
from bdg_tester import main
from bdg_tester.adapters import MissingOutcomeError, RecordedOutcomes
from bdg_tester.analysis.model import Phase, RunOutput
from bdg_tester.analysis.verdict import after_run, combine, install_failed
from bdg_tester.detection.detect import detect_projects
from bdg_tester.detection.projects import Project
from bdg_tester.domain import TestTask, task_for
from bdg_tester.recorded import RecordedTestRunner
from bdg_tester.results.console_counts import Counts, console_counts
from bdg_tester.results.coverage import CoverageReport
from bdg_tester.results.outcomes import Status, TestCase, TestReport
from bdg_tester.sandbox.env import VENV, cwd, install_commands, install_env, run_env
from bdg_tester.sandbox.runner import SandboxTestRunner

pytestmark = pytest.mark.timeout(10)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
PATCH_1 = "--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-a = 1\n+a = 2\n"
PATCH_2 = "--- a/b.py\n+++ b/b.py\n@@ -1 +1 @@\n-b = 1\n+b = 2\n"


def cause(producer: str, by: Event | None = None) -> Cause:
    return Cause(producer=producer, occurred_at=T0, causation_id=by.event_id if by else None)


def last(job: Job) -> Event:
    return job.pending[-1]


def job_in_testing(*patches: str) -> Job:
    job = Job.request(uuid4(), "acme", cause("user"), goal="g", repo="/src/app", base_ref="v1")
    job.make_plan_ready(cause("planner"), "- [ ] x")
    job.approve_plan(cause("user"), "alice")
    for patch in patches:
        job.change_files(cause("coder"), patch, ("a.py",))
    job.finish_coding(cause("coder"))
    return job


# -- the task ---------------------------------------------------------------------------------
def test_the_task_is_the_repo_at_its_ref_plus_the_patches_up_to_the_trigger() -> None:
    job = job_in_testing(PATCH_1)
    trigger = last(job)
    job.fail_tests(cause("tester", trigger), ev.TestResults(total=1, failed=1), "no")
    job.change_files(cause("coder"), PATCH_2, ("b.py",))
    history = job.collect()
    task = task_for(history, trigger, attempt=1)
    assert (task.repo, task.base_ref, task.tenant, task.attempt) == ("/src/app", "v1", "acme", 1)
    assert task.patches == (PATCH_1,)  # not the patch written after this trigger
    assert task.job_id == str(job.job_id)
    assert task.workspace == f"{job.job_id}-t1"
    assert task.trigger_version == trigger.version
    job.finish_coding(cause("coder"))
    later = [*history, *job.collect()]
    assert task_for(later, later[-1], attempt=2).patches == (PATCH_1, PATCH_2)


# -- counts from the console ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("output", "counts"),
    [
        ("===== 1 failed, 2 passed, 1 skipped in 0.12s =====", Counts(4, 1)),
        ("=== 3 passed in 0.01s ===\n", Counts(3, 0)),
        ("== 1 error in 0.20s ==", Counts(1, 1)),
        ("TAP version 13\n# tests 3\n# suites 0\n# pass 2\n# fail 1\n", Counts(3, 1)),
        ("\u2139 tests 2\n\u2139 pass 2\n\u2139 fail 0\n", Counts(2, 0)),
        ("Tests:       1 failed, 2 passed, 3 total\n", Counts(3, 1)),
        ("\x1b[2m      Tests \x1b[22m 1 failed | 4 passed (5)\n", Counts(5, 1)),
        ("  2 passing (5ms)\n  1 pending\n  1 failing\n", Counts(4, 1)),
        ("test result: ok. 2 passed; 0 failed; 1 ignored\n"
         "test result: FAILED. 1 passed; 1 failed;", Counts(5, 1)),
        ("npm ERR! missing script: test", None),
        ("", None),
    ],
)  # fmt: skip
def test_counts_come_from_a_known_summary_line_only(output: str, counts: Counts | None) -> None:
    assert console_counts(output) == counts


# -- one verdict from several projects --------------------------------------------------------
def projects() -> tuple[Project, Project]:
    found = detect_projects(
        {
            "api/pyproject.toml": "[project]\nname = 'api'\nversion = '1'\n",
            "api/tests/test_api.py": "",
            "web/package.json": '{"scripts": {"test": "node --test"}}',
            "web/x.test.js": "",
        }
    )
    assert [p.root for p in found] == ["api", "web"]
    return found[0], found[1]


def report(*statuses: Status) -> TestReport:
    cases = [
        TestCase(f"t{i}", "s", s, message="assert 1 == 2" if s is Status.failed else "")
        for i, s in enumerate(statuses)
    ]
    return TestReport(tuple(cases))


def coverage(covered: int, total: int) -> CoverageReport:
    return CoverageReport(round(100 * covered / total, 2), covered, total, ())


def test_projects_add_up_and_only_the_failing_ones_are_analysed() -> None:
    api, web = projects()
    ok = after_run(api, RunOutput(report(Status.passed), exit_code=0), coverage(9, 10))
    bad = after_run(web, RunOutput(stdout="# tests 2\n# pass 1\n# fail 1\n", exit_code=1))
    run = combine([ok, bad], ["scaffolded in api (python): created tests/test_x.py"])
    assert (run.results.total, run.results.failed) == (3, 1)
    assert run.results.coverage == 90.0
    assert not run.passed
    assert run.analysis.startswith("## Test analysis\n\n1 of 2 projects failed.")
    assert "### Project `web` (node, node-test)" in run.analysis
    assert "`api`" not in run.analysis.split("### What the tester did")[0]
    assert run.analysis.endswith("- scaffolded in api (python): created tests/test_x.py")
    assert run.results.output_tail.startswith("[bdg] scaffolded in api (python)")
    assert "[`web` (node, node-test)]\n# tests 2" in run.results.output_tail


def test_coverage_is_weighted_by_lines() -> None:
    api, web = projects()
    runs = [
        after_run(api, RunOutput(report(Status.passed), exit_code=0), coverage(1, 10)),
        after_run(web, RunOutput(report(Status.passed), exit_code=0), coverage(29, 30)),
    ]
    run = combine(runs)
    assert run.passed
    assert run.results.coverage == 75.0
    assert run.analysis == ""


def test_a_run_without_any_project_fails_and_says_so() -> None:
    run = combine([], ["`tools` (go) has no tests to run"])
    assert not run.passed
    assert "No project to test was found" in run.why_failed
    assert "- `tools` (go) has no tests to run" in run.why_failed


def test_an_install_failure_counts_no_test_and_blames_the_dependencies() -> None:
    api, _ = projects()
    failed = RunOutput(
        stderr="ERROR: No matching distribution found for nope==9\n", exit_code=1,
        phase=Phase.install,
    )  # fmt: skip
    run = combine([install_failed(api, failed)])
    assert (run.results.total, run.passed) == (0, False)
    assert "a dependency problem, not a code problem" in run.analysis


def test_a_clean_exit_without_any_count_is_no_pass() -> None:
    _, web = projects()
    run = combine([after_run(web, RunOutput(stdout="all good\n", exit_code=0))])
    assert not run.passed
    assert run.results.total == 0


# -- the sandbox's environment ----------------------------------------------------------------
def test_python_projects_run_in_the_workspace_venv_and_missing_tools_are_bootstrapped() -> None:
    api, web = projects()
    assert run_env(api, venv=True)["PATH"].startswith(f"/workspace/{VENV}/bin:")
    assert run_env(web, venv=False)["HOME"] == "/tmp"
    assert install_env(web, venv=False)["HOME"] == "/workspace/.bdg-home"
    assert (cwd("."), cwd("api")) == ("/workspace", "/workspace/api")
    uv = replace(api, package_manager=type(api.package_manager)("uv"), install=(("uv", "sync"),))
    assert install_commands(uv) == (("python", "-m", "pip", "install", "uv"), ("uv", "sync"))
    assert install_commands(web) == web.install


def test_installs_keep_their_downloads_in_the_tenants_cache_and_tests_never_see_it() -> None:
    api, web = projects()
    for project, venv in ((api, True), (web, False)):
        env = install_env(project, venv)
        caches = {k: v for k, v in env.items() if v.startswith("/cache/")}
        assert caches == {
            "PIP_CACHE_DIR": "/cache/pip",
            "UV_CACHE_DIR": "/cache/uv",
            "POETRY_CACHE_DIR": "/cache/poetry",
            "npm_config_cache": "/cache/npm",
            "npm_config_store_dir": "/cache/pnpm",
            "YARN_CACHE_FOLDER": "/cache/yarn",
        }
        assert env["HOME"] == "/workspace/.bdg-home"  # HOME stays in the workspace
        assert env["npm_config_prefer_offline"] == "true"
        assert not any("/cache" in value for value in run_env(project, venv).values())


# -- composition and replay -------------------------------------------------------------------
def test_recorded_answers_keep_the_recorded_runner_else_the_sandbox() -> None:
    recorded = main.build(Answers(source="x.json"), "unix:///nowhere.sock")
    assert isinstance(recorded.testing.runner, RecordedTestRunner)
    sandboxed = main.build(Answers(), "unix:///nowhere.sock")
    assert isinstance(sandboxed.testing.runner, SandboxTestRunner)
    assert sandboxed.reactions()[0].timeout == 1800.0
    with pytest.raises(service.ConfigurationError, match="AGENT_SANDBOX_ENDPOINT"):
        main.build(Answers(), "tcp://127.0.0.1:9")


def sandbox_tested_job() -> list[Event]:
    """Failed once (with an analysis), then passed, as the sandbox runner reported it."""
    job = job_in_testing(PATCH_1)
    job.fail_tests(cause("tester", last(job)), ev.TestResults(total=2, failed=1), "## why")
    job.change_files(cause("coder"), PATCH_2, ("b.py",))
    job.finish_coding(cause("coder"))
    job.pass_tests(cause("tester", last(job)), ev.TestResults(total=2, coverage=80.0))
    return job.collect()


async def test_a_replay_takes_the_recorded_outcomes_and_runs_no_test() -> None:
    history = sandbox_tested_job()
    report = await replay_job(history, {"tester": main.replay_reactions})
    assert report.divergence is None, report.divergence
    assert report.by_service == {"tester": 2}


async def test_recorded_outcomes_by_trigger_then_by_attempt() -> None:
    history = sandbox_tested_job()
    runner = RecordedOutcomes(history)
    first = next(e for e in history if isinstance(e, ev.CodingFinished))
    failed = await runner.run(TestTask("g", 1, trigger_version=first.version))
    assert (failed.passed, failed.analysis) == (False, "## why")
    by_attempt = await runner.run(TestTask("g", 2))
    assert by_attempt.passed
    assert by_attempt.results.coverage == 80.0
    with pytest.raises(MissingOutcomeError):
        await runner.run(TestTask("g", 3))

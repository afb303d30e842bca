"""Whole jobs on real repositories: plan -> code -> tests run for real in the sandbox -> review ->
awaiting deploy approval, every service its own process over real NATS, PostgreSQL and sandboxd.

The model's answers come from recordings (``BDG_LLM_RECORDINGS``, one file per scenario under
full_flow/recordings/); the tester's results never do: it detects each project, installs its
pinned test dependencies through the sandbox's registry egress and runs its tests on the code
the coder wrote. Scenarios: a Python and a JavaScript repository passing on the first attempt, a
first attempt that fails its tests and a retry that fixes it, and a change that never passes
(``StepFailed`` after 5 attempts, with the analysis). Each finished job also replays to the same
events (``bdg job replay``).

To record again after a prompt changes (the services then ask requests the files do not hold):

    BDG_RECORD_FULL_FLOW=1 uv run pytest tests/e2e/test_full_flow.py

which plays each scenario's author script (full_flow/scenarios.py) through a fake OpenAI
endpoint with ``BDG_LLM_RECORD`` set, rewriting the recordings, and checks the same outcomes.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from bdg_contracts import commands as cmd
from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bdg_contracts.states import JobState, Step
from bdg_jobs.domain import Job
from bdg_jobs.sources import SourceRules
from bdg_jobs.user_commands import JobCommands
from bdg_llm.recorded_calls import read_recordings
from bdg_runtime.job_replay import replay_job
from tests.e2e.conftest import Client_
from tests.e2e.full_flow.scenarios import SCENARIOS
from tests.e2e.full_flow.services import model_env, start_services, write_deploy_answers
from tests.e2e.harness import Cluster
from tests.fakes.openai_server import FakeOpenAi, Reply
from tests.git_repos import make_repo
from tests.sandbox.daemon import Daemon, start_daemon
from tests.waiting import eventually

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]
RECORD = os.environ.get("BDG_RECORD_FULL_FLOW") == "1"
SETTLED = frozenset({JobState.awaiting_deploy_approval, JobState.failed, JobState.done})
E = TypeVar("E", bound=Event)


@pytest.fixture(name="sources", scope="module")
def sources_fixture() -> Iterator[Path]:
    # Outside pytest's 0700 tmp root: the sandbox user checks the repositories out.
    root = Path(tempfile.mkdtemp(prefix="bdg-full-flow-")).resolve()
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(name="daemon", scope="module")
async def daemon_fixture(sources: Path) -> AsyncIterator[Daemon]:
    daemon = await start_daemon(SANDBOX_SOURCE_ROOTS=json.dumps([str(sources)]))
    yield daemon
    code, output = daemon.stop(), daemon.output()
    daemon.remove()
    assert code == 0, output


@pytest.fixture(name="deploy_answers", scope="module")
def deploy_answers_fixture(sources: Path) -> Path:
    return write_deploy_answers(sources / "deploy-answers.json")


async def run_scenario(
    name: str, cluster: Cluster, client: Client_, daemon: Daemon, sources: Path, answers: Path
) -> tuple[list[Event], FakeOpenAi | None]:
    scenario = SCENARIOS[name]
    repo = sources / f"{name}-{cluster.namespace}"
    make_repo(repo, scenario.files)
    fake = None
    if RECORD:
        fake = FakeOpenAi(api_key="test-key").start()
        fake.push(*(Reply(answer) for answer in scenario.author))
        scenario.recordings.write_text("")
    try:
        start_services(cluster, daemon.endpoint, answers, model_env(scenario, fake))
        request = cmd.RequestJob(
            goal=scenario.goal, repo=str(repo), base_ref="main", plan_approval="auto"
        )
        granted = SourceRules({client.caller.tenant_id: (sources,)})
        daemon.grant(granted.grants)  # sandboxd judges the same grants for the job's tenant
        commands = JobCommands(client.app, client.redrive, sources=granted)
        job = await commands.create(client.caller, request)
        history = await settled(client, job.job_id, 240)
    finally:
        if fake is not None:
            fake.stop()
    assert Job.replay(history).state == scenario.ends_in, names_and_failures(history)
    calls = [e for e in history if isinstance(e, ev.LlmCalled)]
    assert len(calls) == len(scenario.author), "every scripted answer asked for, once"
    recorded = {c.request_hash for c in read_recordings(scenario.recordings)}
    assert {c.request_hash for c in calls} <= recorded
    await replays_to_the_same_events(history)
    return history, fake


async def settled(client: Client_, job_id: object, timeout: float) -> list[Event]:
    async def probe() -> list[Event] | None:
        history = await client.app.history(job_id)  # type: ignore[arg-type]
        return history if history and Job.replay(history).state in SETTLED else None

    return await eventually(probe, timeout, f"job {job_id} to settle")


def names_and_failures(history: list[Event]) -> str:
    lines = [f"{e.version} {e.name} {getattr(e, 'reason', '')}" for e in history]
    return "\n".join(lines)


async def replays_to_the_same_events(history: list[Event]) -> None:
    from bdg_coder.main import replay_reactions as coder
    from bdg_deployer.main import replay_reactions as deployer
    from bdg_planner.main import replay_reactions as planner
    from bdg_tester.main import replay_reactions as tester

    factories = {"planner": planner, "coder": coder, "tester": tester, "deployer": deployer}
    report = await replay_job(history, factories)  # the deploy answered from the log
    assert report.same, report.divergence
    assert report.unused_calls == 0


def of(history: list[Event], kind: type[E]) -> list[E]:
    return [e for e in history if isinstance(e, kind)]


# -- the scenarios ------------------------------------------------------------------------------
async def test_a_python_repository_goes_from_plan_to_awaiting_deploy_approval(
    cluster: Cluster, client: Client_, daemon: Daemon, sources: Path, deploy_answers: Path
) -> None:
    history, _ = await run_scenario("python_pass", cluster, client, daemon, sources, deploy_answers)
    roles = [e.role for e in of(history, ev.LlmCalled)]
    assert roles == ["planner", "critic", *["coder"] * 5, "reviewer"]
    (changed,) = of(history, ev.FilesChanged)
    assert set(changed.paths) == {"pricing/cart.py", "tests/test_discount.py"}
    assert "+def apply_discount(total, percent):" in changed.patch
    tools = [e.tool for e in of(history, ev.ToolCalled)]
    # the coder's own reads of the files the goal and plan name (the test file is still to be
    # written), then the model's calls
    assert tools == [*["file_read"] * 3, "file_write", "file_write", "run_tests", "workspace_diff"]
    named = of(history, ev.ToolCalled)[:2]
    assert [json.loads(e.arguments_json)["path"] for e in named] == [
        "pricing/cart.py",
        "tests/test_discount.py",
    ]
    assert "def subtotal(items):" in json.loads(named[0].result)["content"]
    assert "error" in json.loads(named[1].result)
    (passed,) = of(history, ev.TestsPassed)
    # pytest ran the two old and the two new tests, under coverage, in the sandbox
    assert (passed.attempt, passed.results.total, passed.results.failed) == (1, 4, 0)
    assert passed.results.coverage is not None
    assert passed.results.coverage > 90
    assert "4 passed" in passed.results.output_tail
    # without the change the new tests cannot even import apply_discount: the change is proven
    check = passed.results.fail_to_pass
    assert check is not None
    assert check.verdict == "proven", check
    assert check.test_files == ("tests/test_discount.py",)
    assert {f.before for f in check.tests} == {"not run"}
    assert all("test_discount" in f.test for f in check.tests), check.tests
    (reviewed,) = of(history, ev.ReviewCompleted)
    assert reviewed.approved
    assert isinstance(history[-1], ev.DeployAwaitingApproval)


async def test_a_javascript_repository_goes_from_plan_to_awaiting_deploy_approval(
    cluster: Cluster, client: Client_, daemon: Daemon, sources: Path, deploy_answers: Path
) -> None:
    history, _ = await run_scenario("js_pass", cluster, client, daemon, sources, deploy_answers)
    (changed,) = of(history, ev.FilesChanged)
    assert set(changed.paths) == {"src/slug.js", "test/max-length.test.js"}
    (passed,) = of(history, ev.TestsPassed)
    # node --test found both test files: the two old tests and the two new ones
    assert (passed.attempt, passed.results.total, passed.results.failed) == (1, 4, 0)
    check = passed.results.fail_to_pass
    assert check is not None
    assert check.verdict == "proven", check
    assert all("max-length" in f.test or "max" in f.test for f in check.tests), check.tests
    (reviewed,) = of(history, ev.ReviewCompleted)
    assert reviewed.approved
    assert isinstance(history[-1], ev.DeployAwaitingApproval)


async def test_a_first_attempt_that_fails_its_tests_is_fixed_by_the_retry(
    cluster: Cluster, client: Client_, daemon: Daemon, sources: Path, deploy_answers: Path
) -> None:
    history, fake = await run_scenario(
        "python_retry", cluster, client, daemon, sources, deploy_answers
    )
    (failed,) = of(history, ev.TestsFailed)
    assert (failed.attempt, failed.results.total, failed.results.failed) == (1, 3, 1)
    assert "test_a_negative_quantity_is_refused" in failed.analysis
    assert "tests/test_negative.py" in failed.analysis
    (passed,) = of(history, ev.TestsPassed)
    assert (passed.attempt, passed.results.total, passed.results.failed) == (2, 3, 0)
    assert failed.results.fail_to_pass is None  # the tests failed: nothing to check
    check = passed.results.fail_to_pass
    assert check is not None
    assert check.verdict == "proven", check
    assert [f.before for f in check.tests if "negative_quantity" in f.test] == ["failed"]
    finished = [e.attempt for e in of(history, ev.CodingFinished)]
    assert finished == [1, 2]
    second = [e for e in of(history, ev.FilesChanged) if e.attempt == 2]
    assert "+        if quantity < 0:" in second[0].patch
    if fake is not None:  # recording: the second attempt was shown the analysis
        prompts = [json.dumps(r["messages"]) for r in fake.requests]
        assert any(json.dumps(failed.analysis)[1:-1] in p for p in prompts)


async def test_a_change_that_never_passes_fails_the_step_after_five_attempts(
    cluster: Cluster, client: Client_, daemon: Daemon, sources: Path, deploy_answers: Path
) -> None:
    history, _ = await run_scenario("js_never", cluster, client, daemon, sources, deploy_answers)
    failures = of(history, ev.TestsFailed)
    assert [e.attempt for e in failures] == [1, 2, 3, 4, 5]
    assert not of(history, ev.TestsPassed)
    assert not of(history, ev.ReviewCompleted)
    (step_failed,) = of(history, ev.StepFailed)
    assert step_failed.step == Step.testing
    assert step_failed.reason.startswith("tests still failing after 5 attempts: ")
    last = failures[-1]
    assert last.analysis in step_failed.reason
    assert "keeps accented letters as plain letters" in last.analysis
    assert all(e.results.failed >= 1 for e in failures)

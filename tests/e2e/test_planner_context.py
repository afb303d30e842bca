"""The planner grounds its plan in the repository's code, found by the real indexer; what it
was shown is recorded, so the plan replays; with no indexer it plans without code, and says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bdg_cli.job_replay import replayers
from bdg_contracts import commands as cmd
from bdg_contracts import tool_events as tev
from bdg_contracts.states import JobState
from bdg_runtime.job_replay import replay_job
from tests.e2e.conftest import Client_
from tests.e2e.harness import Cluster, wait_for_state
from tests.e2e.test_index_cli import bdg, make_repo
from tests.fakes.openai_server import FakeOpenAi, Reply

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]
GOAL = "Add a kelvin conversion next to the celsius to fahrenheit converter"


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAi]:
    fake = FakeOpenAi(api_key="test-key").start()
    yield fake
    fake.stop()


def plan_replies(fake: FakeOpenAi) -> None:
    fake.push(
        Reply("- [ ] Add celsius_to_kelvin to src/temperature.py\n- [ ] Test it\n"),
        Reply('{"score": 9, "risks": [], "changes": []}'),
    )


async def test_the_plan_sees_the_indexed_code_and_replays_without_the_index(
    cluster: Cluster, client: Client_, fake_openai: FakeOpenAi, tmp_path: Path
) -> None:
    source = tmp_path / "tools"
    source.mkdir()
    make_repo(source)
    indexer = cluster.start(
        "indexer",
        module="bdg_indexer.main",
        env={"BDG_EMBEDDINGS": "offline", "BDG_INDEX_DIR": str(tmp_path / "index")},
    )
    cluster.start(
        "planner",
        module="bdg_planner.main",
        env={"OPENAI_BASE_URL": fake_openai.base_url, "OPENAI_API_KEY": "test-key"},
    )
    await bdg(cluster, "index", "add", str(source))  # follows the indexer to ready

    plan_replies(fake_openai)
    c = client
    caller = c.caller  # acme, the tenant `bdg` indexed the repository for
    assert caller.tenant_id == "acme"
    repo = str(source.resolve())
    job = await c.commands.create(caller, cmd.RequestJob(goal=GOAL, repo=repo))
    history = await wait_for_state(c.store, job.job_id, JobState.awaiting_plan_approval, 60)

    found = [e for e in history if isinstance(e, tev.CodeContextRetrieved)]
    assert len(found) == 1
    assert found[0].query == GOAL
    assert found[0].hits[0].path == "src/temperature.py"
    prompt = fake_openai.requests[0]["messages"][1]["content"]
    assert "Relevant code from the repository" in prompt
    assert "src/temperature.py:1-3" in prompt
    assert "def celsius_to_fahrenheit(celsius):" in prompt

    # The replay takes the code from the log, not from the index.
    indexer.stop()
    report = await replay_job(history, replayers(["planner"]))
    assert report.divergence is None, report.divergence
    assert report.by_service == {"planner": 1}

    # No indexer now: the plan is made without code, and the note says why.
    plan_replies(fake_openai)
    second = await c.commands.create(caller, cmd.RequestJob(goal=GOAL, repo=repo))
    history = await wait_for_state(c.store, second.job_id, JobState.awaiting_plan_approval, 60)
    found = [e for e in history if isinstance(e, tev.CodeContextRetrieved)]
    assert [(f.hits, f.note) for f in found] == [((), "no index: no indexer is running")]
    assert "Relevant code" not in fake_openai.requests[2]["messages"][1]["content"]

"""The services of a full-flow job as processes: every step real, the deploy from a script (no
cloud here), the model from a recordings file (or, recording, from a fake OpenAI endpoint)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from tests.e2e.full_flow.scenarios import Scenario
from tests.e2e.harness import ROOT, Cluster
from tests.fakes.openai_server import FakeOpenAi

ROLES = ("planner", "coder", "tester", "deployer")


def write_deploy_answers(path: Path) -> Path:
    """The deployer's answer: the reference job's, for any goal."""
    reference = json.loads((ROOT / "examples" / "reference-job.json").read_text())
    path.write_text(json.dumps({"default": next(iter(reference["goals"].values()))}))
    return path


def model_env(scenario: Scenario, fake: FakeOpenAi | None) -> dict[str, str]:
    if fake is None:
        return {"BDG_LLM_RECORDINGS": str(scenario.recordings), "OPENAI_BASE_URL": ""}
    return {
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_API_KEY": "test-key",
        "BDG_LLM_RECORD": str(scenario.recordings),
        "BDG_LLM_RECORDINGS": "",
    }


def start_services(
    cluster: Cluster,
    sandbox_endpoint: str,
    deploy_answers: Path,
    llm: dict[str, str],
    metrics_ports: Mapping[str, int] | None = None,
) -> None:
    """``metrics_ports``: the roles that serve their metrics, and where."""
    shared = {
        "AGENT_SANDBOX_ENDPOINT": sandbox_endpoint,
        "BDG_ANSWERS_FILE": "",  # every step but the deploy is real
        "BDG_STEP_TIMEOUT_SECONDS": "240",  # an attempt installs and runs tests
        "BDG_PLAN_CONTEXT_TIMEOUT_SECONDS": "1",  # no indexer runs here
        "BDG_CODER_CONTEXT_TIMEOUT_SECONDS": "1",
        **llm,
    }
    for role in ROLES:
        env = dict(shared)
        if role == "deployer":
            env["BDG_ANSWERS_FILE"] = str(deploy_answers)
        if metrics_ports and role in metrics_ports:
            env["BDG_METRICS_PORT"] = str(metrics_ports[role])
        cluster.start(role, module=f"bdg_{role}.main", env=env)

"""`bdg demo --live` as a user runs it: a REAL job on the offline 0.5B model, in a subprocess.

Planner, coder (tool calls and model calls in a sandbox workspace) and tester (a real pytest run
in sandboxd) must each take part, and the output must show the steps as they happen. Whether
the small model fixes the bug is not asserted: a 0.5B model may not.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import psutil
import pytest

from bdg_contracts import events as ev
from bdg_contracts import tool_events as tev
from bdg_contracts.base import Event
from bdg_jobs.store import JobStore
from bdg_llm.local_model import MODELS, LocalModelConfig, is_installed
from tests.conftest import Servers
from tests.ports import free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
UNSET = ("DATABASE_URL", "NATS_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY", "BDG_LLM_RECORDINGS",
         "BDG_ANSWERS_FILE", "BDG_LOCAL_MODEL", "SANDBOX_SOURCE_ROOTS")  # fmt: skip
STEPS = [  # shown in this order (other lines come between)
    "JobRequested",
    "LlmCalled              planner on qwen2.5-coder-0.5b",
    "PlanReady",
    "PlanApproved",
    "LlmCalled              coder on qwen2.5-coder-0.5b",
    "CodingFinished",
    "summary",
    "model tokens",
]


@pytest.fixture
def home() -> Iterator[Path]:
    # Outside pytest's 0700 tmp root: the sandbox user must reach the workspaces under it.
    path = Path(tempfile.mkdtemp(prefix="bdg-live-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def in_order(lines: list[str], steps: list[str]) -> list[str]:
    remaining = iter(lines)
    return [step for step in steps if not any(step in line for line in remaining)]


def leftovers(home: Path, namespace: str) -> list[str]:
    """Anything the demo started still running: services, sandboxd, the model server."""
    alive = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            mine = str(home) in " ".join(proc.info["cmdline"] or [])
            if mine or proc.environ().get("BDG_NAMESPACE") == namespace:
                alive.append(" ".join(proc.info["cmdline"] or []))
        except psutil.Error:
            continue
    return alive


def of(history: list[Event], kind: type[Event], producer: str | None = None) -> list[Event]:
    return [e for e in history if isinstance(e, kind) and producer in (None, e.producer)]


@pytest.mark.timeout(780)  # about 60 s on 2 idle cores; a busy machine is far slower
async def test_live_demo_runs_a_real_job_on_the_local_model(
    database_url: str, namespace: str, servers: Servers, home: Path
) -> None:
    if not is_installed(MODELS[LocalModelConfig.from_env({}).size]):
        absent = "the offline model is not installed (bdg-llm[local])"
        if os.environ.get("CI"):  # CI installs the dev group: the model must be there
            pytest.fail(f"CI must run the live demo: {absent}")
        pytest.skip(absent)
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env |= {
        "DATABASE_URL": database_url,
        "NATS_URL": servers.nats_url,
        "BDG_NAMESPACE": namespace,
        "AGENT_SANDBOX_ENDPOINT": f"unix://{home}/s.sock",
        "GATEWAY_PORT": str(free_port()),
        "BDG_USER": "live-user",
        "BDG_TENANT": "live",
        "COLUMNS": "200",
        "PYTHONUNBUFFERED": "1",
    }
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bdg_cli.main", "demo", "--live", "--home", str(home / "home"),
        "--timeout", "600",
        env=env, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 690)
    finally:
        if proc.returncode is None:
            proc.kill()
    took = time.monotonic() - started
    text = out.decode(errors="replace")
    log = home / "home" / "live-services.log"
    shown = (
        text
        + "\n----- services -----\n"
        + (log.read_text(errors="replace")[-20000:] if log.exists() else "")
    )
    print(f"live demo wall time: {took:.1f} s\n{text}")
    assert proc.returncode in (0, 1), shown  # done, or failed: the small model may not solve it
    assert "Traceback" not in text, shown
    lines = text.splitlines()
    assert not (missing := in_order(lines, STEPS)), f"not shown in order: {missing}\n{shown}"
    assert re.search(r"ToolCalled\s+\w+", text), shown
    assert re.search(r"Tests(Passed|Failed)\s+attempt 1: \d+/\d+ passed", text), shown
    assert "final diff" in text, shown
    assert "the change as a branch bdg/<job> of the job's repository" in text  # nothing recorded

    match = re.search(r"^job (\S+) for live/live-user", text, re.M)
    assert match, shown
    store = JobStore.from_url(database_url)
    try:
        history = store.history(UUID(match[1]))
    finally:
        store.close()
    assert of(history, ev.PlanDrafted, "planner"), shown
    # The repository was indexed before the job: the planner was shown its code.
    assert re.search(r"^index indexed: \d+ files, \d+ chunks$", text, re.M), shown
    [context] = [
        e for e in history if isinstance(e, tev.CodeContextRetrieved) and e.producer == "planner"
    ]
    assert context.hits, shown
    roles = {e.role for e in of(history, ev.LlmCalled)}  # type: ignore[attr-defined]
    assert {"planner", "critic", "coder"} <= roles, shown
    assert of(history, ev.ToolCalled, "coder"), shown
    coded = of(history, ev.FilesChanged, "coder") or of(history, ev.CodingFinished, "coder")
    assert coded, shown
    runs = of(history, ev.TestsPassed, "tester") + of(history, ev.TestsFailed, "tester")
    assert runs, shown
    first = runs[0]
    assert isinstance(first, ev.TestsPassed | ev.TestsFailed)
    assert first.results.output_tail.strip(), shown  # a real test run's own output
    for deployed in of(history, ev.Deployed, "deployer"):  # when the small model got it right
        assert isinstance(deployed, ev.Deployed)
        assert deployed.branch is not None, shown
        assert "/demo-repos/" in deployed.branch.repository, shown
    assert not leftovers(home, namespace), shown

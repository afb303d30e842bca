"""The tester reports an install's progress while it runs, against a real sandboxd (PyPI through
its registry egress) and real NATS: "started" with no output yet, "running" reports with the
elapsed time and output lines so far, then "finished" (or "failed", for a requirement no index
has) with every line counted."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from uuid import UUID, uuid4

import nats
import pytest
from nats.aio.msg import Msg

from bdg_contracts import subjects
from bdg_contracts.progress import InstallProgress, InstallState
from bdg_tester.domain import TestRun, TestTask
from bdg_tester.sandbox.install_progress import NatsProgress
from bdg_tester.sandbox.runner import SandboxTestRunner
from bdg_tester.settings import TesterSettings
from tests.conftest import Servers
from tests.git_repos import make_repo
from tests.sandbox.daemon import Daemon, start_daemon

pytestmark = pytest.mark.timeout(300)
TENANT = "tester-progress"
CALC = {
    "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["."]\n',
    "calc.py": "def add(a, b):\n    return a + b\n",
    "tests/test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
}


@pytest.fixture(name="repos")
def repos_fixture() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="bdg-tester-progress-"))  # not pytest's 0700 tmp root
    root.chmod(0o755)
    make_repo(root / "good", CALC)
    make_repo(root / "broken", {**CALC, "requirements.txt": "bdg-no-such-package-here==0.0.1\n"})
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(name="daemon")
async def daemon_fixture(repos: Path) -> AsyncIterator[Daemon]:
    daemon = await start_daemon(SANDBOX_SOURCE_ROOTS=f'["{repos}"]')
    daemon.grant({TENANT: [repos]})
    yield daemon
    code, output = daemon.stop(), daemon.output()
    daemon.remove()
    assert code == 0, output


async def run_reported(
    servers: Servers, daemon: Daemon, repo: Path
) -> tuple[TestRun, list[InstallProgress]]:
    """One test run of ``repo``, and the progress reports its job's subject received."""
    job = str(uuid4())
    reports: list[InstallProgress] = []

    async def received(msg: Msg) -> None:
        reports.append(InstallProgress.model_validate_json(msg.data))

    nc = await nats.connect(servers.nats_url)
    try:
        await nc.subscribe(subjects.job_progress(TENANT, UUID(job)), cb=received)
        await nc.flush()
        settings = TesterSettings(bdg_test_progress_seconds=0.2)
        async with daemon.client() as client:
            runner = SandboxTestRunner(client, settings, progress=NatsProgress(nc))
            run = await runner.run(TestTask("goal", 2, str(repo), TENANT, job, "HEAD"))
        await nc.flush()  # the last report is back from the server: the subscriber has it
        await asyncio.wait_for(nc.drain(), 10)
    finally:
        if not nc.is_closed:
            await nc.close()
    return run, reports


async def test_an_install_reports_start_progress_and_end(
    servers: Servers, daemon: Daemon, repos: Path
) -> None:
    (good, good_reports), (broken, broken_reports) = await asyncio.gather(
        run_reported(servers, daemon, repos / "good"),
        run_reported(servers, daemon, repos / "broken"),
    )
    assert good.passed, good.why_failed
    states = [r.state for r in good_reports]
    assert (states[0], states[-1]) == (InstallState.started, InstallState.finished)
    assert InstallState.running in states  # pytest's install takes seconds: reports came
    assert set(states[1:-1]) == {InstallState.running}
    assert {(r.attempt, r.project) for r in good_reports} == {(2, ".")}
    assert good_reports[0].output_lines == 0
    lines = [r.output_lines for r in good_reports]
    elapsed = [r.elapsed_s for r in good_reports]
    assert lines == sorted(lines)  # pip's output counted as it came
    assert lines[-1] > 0
    assert elapsed == sorted(elapsed)
    assert elapsed[-1] > 0

    assert not broken.passed
    assert [r.state for r in broken_reports][-1] is InstallState.failed
    assert broken_reports[0].state is InstallState.started
    assert broken_reports[-1].output_lines > 0  # pip said why

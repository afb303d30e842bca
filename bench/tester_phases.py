"""Time per phase of one sandbox test run on a small Python repository (no model time: the
tester asks none).

A repository with a package and three pytest tests (one failing) is made in a temporary
directory, a sandboxd is started for it, and the SandboxTestRunner runs it --runs times:
workspace (ws.create from the repo), detect (list + read manifests + detection), venv (a
virtual environment in the workspace), install (pytest and coverage from PyPI through the
registry egress), test (pytest under coverage, coverage json), parse (read and parse JUnit
XML and coverage JSON, the analysis) and cleanup (ws.drop). Prints each phase's median, the
whole run's, and the machine's load (the installs are CPU-bound on two cores).

The installs use the tenant's package cache (sandboxd's /cache): the first run fills it, the
later ones reuse it, so the install of run 1 is printed apart from the later runs' median.
``--cold`` clears the cache before every run (every install downloads everything).

    uv run python -m bench.tester_phases [--runs 3] [--backend auto|runc|bwrap] [--cold]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bdg_sandboxd.caches import Caches
from bdg_tester.domain import TestTask
from bdg_tester.sandbox.runner import SandboxTestRunner
from tests.git_repos import make_repo
from tests.sandbox.daemon import start_daemon

PHASES = ("workspace", "detect", "scaffold", "venv", "install", "test", "parse", "cleanup")
FILES = {
    "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["."]\n',
    "calc/__init__.py": "",
    "calc/ops.py": "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a + b\n",
    "tests/test_ops.py": (
        "from calc.ops import add, mul\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
        "def test_add_zero():\n    assert add(0, 0) == 0\n\n\n"
        "def test_mul():\n    assert mul(2, 3) == 6\n"
    ),
}


def repository() -> Path:
    """Outside pytest-like 0700 homes: sandboxd clones it as root, the sandbox reads it."""
    sources = Path(tempfile.mkdtemp(prefix="bdg-bench-tester-"))
    sources.chmod(0o755)
    make_repo(sources / "calc", FILES)
    return sources


TENANT = "bench"


async def main(runs: int, backend: str, cold: bool) -> None:
    sources = repository()
    env = {"SANDBOX_SOURCE_ROOTS": f'["{sources}"]', "SANDBOX_BACKEND": backend}
    daemon = await start_daemon(**env)
    daemon.grant({TENANT: [sources]})
    times: dict[str, list[float]] = defaultdict(list)
    totals: list[float] = []
    try:
        async with daemon.client() as client:
            welcome = await client.hello()
            print(f"sandboxd backend: {welcome.backend}; load average {os.getloadavg()[0]:.1f}")
            for i in range(runs):
                phases: dict[str, float] = defaultdict(float)

                def seen(name: str, took: float, phases: dict[str, float] = phases) -> None:
                    phases[name] += took

                if cold:
                    Caches(daemon.state / "caches", 1).clear(TENANT)
                runner = SandboxTestRunner(client, on_phase=seen)
                task = TestTask(TENANT, 1, str(sources / "calc"), "bench", f"bench{i}")
                start = time.perf_counter()
                run = await runner.run(task)
                totals.append(time.perf_counter() - start)
                assert (run.results.total, run.results.failed) == (3, 1), run.results
                for name, took in phases.items():
                    times[name].append(took)
                shown = "  ".join(f"{n} {phases[n]:.2f}" for n in PHASES if n in phases)
                print(f"run {i + 1}: {shown}  total {totals[-1]:.2f} s")
    finally:
        daemon.stop()
        daemon.remove()
        shutil.rmtree(sources, ignore_errors=True)
    print(f"\nmedian of {runs} run(s), seconds:")
    for name in PHASES:
        if name in times:
            print(f"  {name:<10} {statistics.median(times[name]):7.2f}")
    print(f"  {'total':<10} {statistics.median(totals):7.2f}")
    installs = times["install"]
    if len(installs) > 1:
        state = "cold cache every run" if cold else "cache filled by run 1"
        later = statistics.median(installs[1:])
        print(f"install: run 1 {installs[0]:.2f}, later runs' median {later:.2f} ({state})")
    print(f"load average after: {os.getloadavg()[0]:.1f} (2 cores idle: below 1)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", default="auto", choices=("auto", "runc", "bwrap"))
    parser.add_argument("--cold", action="store_true", help="clear the package cache every run")
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.backend, args.cold))

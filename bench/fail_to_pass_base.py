"""The fail-to-pass check's base run with and without the change's installs copied (reuse.py).

A small Python repository (the one bench/tester_phases.py makes) gets a change that fixes
`mul` and adds a test of it; the SandboxTestRunner runs it --runs times per variant, the two
variants alternating so they meet the same load: ``copy`` (the base gets a copy of the change's
venv through ws.copy, as the tester does) and ``install`` (the base makes its venv and installs
again, as before: reuse.reusable_dirs is replaced for the run by one that always says no).
Prints each run's base run (the "fail-to-pass" phase) and whole run, the medians, and the load.

    uv run python -m bench.fail_to_pass_base [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import os
import shutil
import statistics
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from bdg_tester.domain import TestTask
from bdg_tester.sandbox import base_run
from bdg_tester.sandbox.runner import SandboxTestRunner
from bench.tester_phases import FILES, TENANT, repository
from tests.sandbox.daemon import start_daemon

OPS = FILES["calc/ops.py"]
TEST = "from calc.ops import mul\n\n\ndef test_mul_fixed():\n    assert mul(3, 4) == 12\n"
REUSE = getattr(base_run, "reusable_dirs")  # noqa: B009  (swapped for the install variant)


def diff(path: str, old: str, new: str) -> str:
    before = "/dev/null" if not old else f"a/{path}"
    lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    return "".join(difflib.unified_diff(*lines, before, f"b/{path}"))


FIXED = OPS.replace("def mul(a, b):\n    return a + b", "def mul(a, b):\n    return a * b")
PATCHES = (diff("calc/ops.py", OPS, FIXED), diff("tests/test_fixed.py", "", TEST))


def never(*_: Any) -> str:
    return "the bench's install variant"


async def one(runner: SandboxTestRunner, task: TestTask, copy: bool) -> None:
    setattr(base_run, "reusable_dirs", REUSE if copy else never)  # noqa: B010
    run = await runner.run(task)
    check = run.results.fail_to_pass
    assert run.passed, run.analysis
    assert check is not None
    assert check.verdict == "proven", check


def medians(name: str, values: Sequence[float]) -> str:
    return (
        f"{name} median {statistics.median(values):.2f} s ({', '.join(f'{v:.1f}' for v in values)})"
    )


async def main(runs: int) -> None:
    sources = repository()
    daemon = await start_daemon(SANDBOX_SOURCE_ROOTS=f'["{sources}"]')
    daemon.grant({TENANT: [sources]})
    base: dict[str, list[float]] = defaultdict(list)
    whole: dict[str, list[float]] = defaultdict(list)
    try:
        async with daemon.client() as client:
            for i in range(runs * 2 + 1):  # the first run fills the package cache: not counted
                variant = "copy" if i % 2 else "install"
                phases: dict[str, float] = defaultdict(float)

                def seen(name: str, took: float, phases: dict[str, float] = phases) -> None:
                    phases[name] += took

                runner = SandboxTestRunner(client, on_phase=seen)
                task = TestTask(
                    "fix mul", 1, str(sources / "calc"), TENANT, f"f2p{i}", "HEAD", PATCHES
                )
                load = os.getloadavg()[0]
                start = time.perf_counter()
                await one(runner, task, variant == "copy")
                took = time.perf_counter() - start
                f2p = phases["fail-to-pass"]
                shown = f"base run {f2p:6.2f} s  whole {took:6.2f} s  load {load:.1f}"
                print(f"run {i}: {variant:<7} {shown}")
                if i:
                    base[variant].append(f2p)
                    whole[variant].append(took)
    finally:
        setattr(base_run, "reusable_dirs", REUSE)  # noqa: B010
        daemon.stop()
        daemon.remove()
        shutil.rmtree(sources, ignore_errors=True)
    for variant in ("install", "copy"):
        print(
            f"{variant}: {medians('base run', base[variant])}; {medians('whole', whole[variant])}"
        )
    print(f"load average after: {os.getloadavg()[0]:.1f} (2 cores idle: below 1)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per variant")
    asyncio.run(main(parser.parse_args().runs))

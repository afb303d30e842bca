"""How ``uv run pytest -n 3`` hands out the suite (tests/conftest.py's xdist scheduler): a module
whole on one worker, the heavy modules together on one, the slowest kind of work first."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import HEAVY, HEAVY_MODULES, rank_of, scope_of

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = "tests/sandbox/test_bwrap_args.py"
SMALL = [
    "tests/unit/test_plan_bar.py",
    "tests/unit/test_plan_checklist.py",
    "tests/unit/test_heap.py",
    SANDBOX,
]


def test_a_test_s_unit_is_its_module_or_the_heavy_group() -> None:
    assert scope_of("tests/unit/test_heap.py::test_x[1-a::b]") == "tests/unit/test_heap.py"
    assert scope_of("tests/integration/test_local_model.py::test_y") == HEAVY
    assert scope_of("tests/integration/test_cli_init.py::Class::test_z") == HEAVY


def test_every_heavy_module_exists() -> None:
    # A module renamed away would silently run beside the others again.
    assert [m for m in sorted(HEAVY_MODULES) if not (ROOT / m).is_file()] == []


def test_the_heavy_group_then_processes_then_the_rest_are_dealt_first() -> None:
    scopes = [
        "tests/unit/test_heap.py",
        "tests/integration/test_bus.py",
        "tests/sandbox/test_daemon.py",
        "tests/e2e/test_demo.py",
        HEAVY,
        "tests/contracts/test_stored_log.py",
    ]
    order = [scopes[4], scopes[3], scopes[2], scopes[1], scopes[0], scopes[5]]
    assert sorted(scopes, key=rank_of) == order


@pytest.mark.timeout(300)
def test_under_xdist_each_module_runs_whole_on_one_worker_the_sandbox_s_first() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "-v", "-p", "no:cacheprovider", *SMALL],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=280,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-5000:]
    ran = re.findall(r"\[(gw\d)\] \[ *\d+%\] PASSED (\S+?)::", run.stdout)
    workers: dict[str, set[str]] = defaultdict(set)
    for worker, module in ran:
        workers[module].add(worker)
    assert sorted(workers) == sorted(SMALL), run.stdout[-5000:]
    # Plain xdist (--dist load) spreads these tests over both workers; and a unit sent by a
    # position in a reordered list, not the worker's own, would mix the modules up.
    assert all(len(ran_on) == 1 for ran_on in workers.values()), dict(workers)
    # Dealt first although collected last: its worker runs it before its other module.
    (worker,) = workers[SANDBOX]
    assert next(module for w, module in ran if w == worker) == SANDBOX, ran


def test_services_the_tests_start_run_at_the_test_s_priority() -> None:
    assert os.environ["BDG_NICE"] == "0"

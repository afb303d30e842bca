"""The groups pytest-xdist hands out whole under ``uv run pytest -n 3`` (``--dist loadgroup``):
a module's tests stay together on one worker, and the modules marked ``HEAVY`` share one."""

from __future__ import annotations

import pytest

from tests.conftest import HEAVY

HERE = "tests/unit/test_parallel_groups.py"


def groups(request: pytest.FixtureRequest) -> list[str]:
    return [str(m.args[0]) for m in request.node.iter_markers("xdist_group")]


def test_a_test_runs_in_its_module_s_group(request: pytest.FixtureRequest) -> None:
    assert groups(request) == [HERE]


@pytest.mark.parametrize("n", [1, 2])
def test_parametrized_tests_share_it(request: pytest.FixtureRequest, n: int) -> None:
    assert groups(request) == [HERE]


@pytest.mark.xdist_group(HEAVY)
def test_a_test_s_own_group_is_kept_alone(request: pytest.FixtureRequest) -> None:
    # xdist joins every group an item carries ("heavy_tests/..."): one only, or the heavy
    # modules would each get a group of their own and run side by side again.
    assert groups(request) == [HEAVY]

"""Under `bdg up` every service serves its metrics on a port of its own (one shared
BDG_METRICS_PORT would let only the first bind it), the same one whatever subset runs."""

from __future__ import annotations

import pytest

from bdg_cli.up import SERVICES, metrics_ports

pytestmark = pytest.mark.timeout(10)


def test_each_service_gets_the_base_plus_its_place() -> None:
    ports = metrics_ports(list(SERVICES), 9400)
    assert ports["gateway"] == {"BDG_METRICS_PORT": "9400"}
    assert ports["planner"] == {"BDG_METRICS_PORT": "9401"}
    assert len({p["BDG_METRICS_PORT"] for p in ports.values()}) == len(SERVICES)
    assert metrics_ports(["coder"], 9400) == {"coder": {"BDG_METRICS_PORT": "9402"}}
    own = metrics_ports(["planner", "custom"], 9400)
    assert own["custom"] == {"BDG_METRICS_PORT": str(9400 + len(SERVICES))}


@pytest.mark.parametrize("base", [None, 0])
def test_unset_or_any_free_port_is_left_to_each_process(base: int | None) -> None:
    assert metrics_ports(list(SERVICES), base) == {}

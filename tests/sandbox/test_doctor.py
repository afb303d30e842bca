"""sandboxd doctor: every backend with its availability and protections, and the one chosen."""

from __future__ import annotations

import os

import pytest

from bdg_sandboxd.backend import Availability
from bdg_sandboxd.backends import backend_classes
from bdg_sandboxd.doctor import BackendStatus, DoctorReport, doctor, render
from bdg_sandboxd.tenant_disks import DiskLimitError, probe

pytestmark = pytest.mark.timeout(60)


def test_reports_both_backends_and_the_choice() -> None:
    report = doctor("auto")
    by_name = {status.name: status for status in report.backends}
    assert set(by_name) == {"runc", "bwrap"}
    for name, status in by_name.items():
        assert status.available == backend_classes()[name].available().ok
        assert status.reason
        assert bool(status.protections) == status.available
    expected = next((n for n in ("runc", "bwrap") if by_name[n].available), None)
    assert report.chosen == expected
    assert (report.problem == "") == (expected is not None)


def test_bwrap_protections_on_this_host() -> None:
    if not backend_classes()["bwrap"].available().ok:
        pytest.skip("bwrap cannot run here")
    report = doctor("bwrap")
    assert report.chosen == "bwrap"
    bwrap = next(s for s in report.backends if s.name == "bwrap")
    for protection in (
        "read_only_rootfs",
        "no_network",
        "no_capabilities",
        "no_new_privileges",
        "non_root_user",
        "pid_namespace",
        "wall_clock_timeout",
    ):
        assert bwrap.protections[protection] is True, protection
    assert {
        "seccomp",
        "tmp_size_limit",
        "memory_limit",
        "pids_limit",
        "cpu_limit",
        "limits_in_cgroups",
    } <= set(bwrap.protections)


def test_no_backend_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    for cls in backend_classes().values():
        monkeypatch.setattr(cls, "available", classmethod(lambda c: Availability(False, "nope")))
    report = doctor("auto")
    assert report.chosen is None
    assert "nope" in report.problem
    assert all(not s.available and not s.protections for s in report.backends)
    assert "chosen (auto): none" in render(report)


def test_unknown_preference() -> None:
    with pytest.raises(ValueError, match="unknown backend"):
        doctor("docker")


def test_render_lists_backends_protections_and_choice() -> None:
    report = DoctorReport(
        "auto",
        [
            BackendStatus("runc", False, "runc is not installed"),
            BackendStatus(
                "bwrap",
                True,
                "bubblewrap 0.8.0 makes sandboxes here",
                {"seccomp": True, "memory_limit": False},
            ),
        ],
        "bwrap",
    )
    assert render(report).splitlines() == [
        "runc: unavailable (runc is not installed)",
        "bwrap: ok (bubblewrap 0.8.0 makes sandboxes here)",
        "  [x] seccomp",
        "  [ ] memory_limit",
        "workspace disk: NOT bounded during execs (not probed)",
        "chosen (auto): bwrap",
    ]


def test_says_whether_the_workspace_disk_is_bounded_during_execs() -> None:
    report = doctor("auto", disk_limit="auto")
    assert report.disk.bounded is (os.geteuid() == 0)  # loop devices: on every root host here
    line = next(x for x in render(report).splitlines() if x.startswith("workspace disk: "))
    assert ("NOT bounded" in line) is (not report.disk.bounded)
    off = doctor("auto", disk_limit="none")
    assert "workspace disk: NOT bounded during execs (SANDBOX_DISK_LIMIT=none" in render(off)


def test_without_root_the_disk_degrades_clearly_or_refuses_when_required() -> None:
    degraded = probe("auto", euid=1000)
    assert not degraded.bounded
    assert "not root" in degraded.reason
    assert "quota checked at file operations only" in degraded.reason
    with pytest.raises(DiskLimitError, match="SANDBOX_DISK_LIMIT=loop, but not root"):
        probe("loop", euid=1000)

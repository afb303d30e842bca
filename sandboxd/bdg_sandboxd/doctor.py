"""``sandboxd doctor``: which isolation backends can run here, what each protects, which one
the daemon would pick."""

from __future__ import annotations

from dataclasses import dataclass, field

from bdg_sandboxd.backends import NoBackendError, backend_classes, choose
from bdg_sandboxd.tenant_disks import DiskLimitError, DiskMode, probe


@dataclass(frozen=True)
class BackendStatus:
    name: str
    available: bool
    reason: str
    protections: dict[str, bool] = field(default_factory=dict)  # empty when not available


@dataclass(frozen=True)
class DoctorReport:
    preference: str
    backends: list[BackendStatus]
    chosen: str | None  # None: no backend can run (``problem`` says why)
    problem: str = ""
    # Whether the workspaces' disk is bounded during execs (tenant_disks.py).
    disk: DiskMode = field(default_factory=lambda: DiskMode(False, "not probed"))


def doctor(preference: str = "auto", disk_limit: str = "auto") -> DoctorReport:
    classes = backend_classes()
    if preference != "auto" and preference not in classes:
        raise ValueError(f"unknown backend {preference!r}: auto, {', '.join(classes)}")
    statuses = []
    for name, cls in classes.items():
        availability = cls.available()
        protections = cls().protections() if availability.ok else {}
        statuses.append(BackendStatus(name, availability.ok, availability.reason, protections))
    try:
        disk = probe(disk_limit)
    except DiskLimitError as error:
        disk = DiskMode(False, str(error))
    try:
        return DoctorReport(preference, statuses, choose(preference).name, disk=disk)
    except NoBackendError as error:
        return DoctorReport(preference, statuses, None, str(error), disk=disk)


def render(report: DoctorReport) -> str:
    lines = []
    for status in report.backends:
        mark = "ok" if status.available else "unavailable"
        lines.append(f"{status.name}: {mark} ({status.reason})")
        for protection, holds in status.protections.items():
            lines.append(f"  [{'x' if holds else ' '}] {protection}")
    bounded = "bounded during execs" if report.disk.bounded else "NOT bounded during execs"
    lines.append(f"workspace disk: {bounded} ({report.disk.reason})")
    if report.chosen is None:
        lines.append(f"chosen ({report.preference}): none: {report.problem}")
    else:
        lines.append(f"chosen ({report.preference}): {report.chosen}")
    return "\n".join(lines)

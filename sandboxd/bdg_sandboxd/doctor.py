"""``sandboxd doctor``: which isolation backends can run here, what each protects, which one
the daemon would pick."""

from __future__ import annotations

from dataclasses import dataclass, field

from bdg_sandboxd.backends import NoBackendError, backend_classes, choose


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


def doctor(preference: str = "auto") -> DoctorReport:
    classes = backend_classes()
    if preference != "auto" and preference not in classes:
        raise ValueError(f"unknown backend {preference!r}: auto, {', '.join(classes)}")
    statuses = []
    for name, cls in classes.items():
        availability = cls.available()
        protections = cls().protections() if availability.ok else {}
        statuses.append(BackendStatus(name, availability.ok, availability.reason, protections))
    try:
        return DoctorReport(preference, statuses, choose(preference).name)
    except NoBackendError as error:
        return DoctorReport(preference, statuses, None, str(error))


def render(report: DoctorReport) -> str:
    lines = []
    for status in report.backends:
        mark = "ok" if status.available else "unavailable"
        lines.append(f"{status.name}: {mark} ({status.reason})")
        for protection, holds in status.protections.items():
            lines.append(f"  [{'x' if holds else ' '}] {protection}")
    if report.chosen is None:
        lines.append(f"chosen ({report.preference}): none: {report.problem}")
    else:
        lines.append(f"chosen ({report.preference}): {report.chosen}")
    return "\n".join(lines)

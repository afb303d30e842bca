"""Choosing the isolation backend: runc when it can run here, else bubblewrap."""

from __future__ import annotations

from bdg_sandboxd.backend import Availability, Backend


def backend_classes() -> dict[str, type[Backend]]:
    # Imported here so a host without one backend's tools still loads the other.
    from bdg_sandboxd.backends.bwrap import BwrapBackend
    from bdg_sandboxd.backends.runc import RuncBackend

    return {"runc": RuncBackend, "bwrap": BwrapBackend}


class NoBackendError(RuntimeError):
    """Neither runc nor bubblewrap can run on this host."""


def choose(preference: str = "auto") -> Backend:
    classes = backend_classes()
    names = ["runc", "bwrap"] if preference == "auto" else [preference]
    reasons: list[str] = []
    for name in names:
        availability: Availability = classes[name].available()
        if availability.ok:
            return classes[name]()
        reasons.append(f"{name}: {availability.reason}")
    raise NoBackendError("no sandbox backend can run here: " + "; ".join(reasons))

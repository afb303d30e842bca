"""The sandboxd `bdg up` and `bdg demo --live` start when none answers, and stop again.

A sandboxd already answering at AGENT_SANDBOX_ENDPOINT is used as it is (its source roots are
its own). Otherwise one is started as `bdg sandbox start` would (pid file and log under
BDG_HOME/sandbox/), dying with its parent, with SANDBOX_SOURCE_ROOTS (unless set already) the
directories jobs may name as their repository: by default the current directory and
BDG_HOME/demo-repos, granted to the local tenant (bdg_jobs.sources).
A host where no backend (runc, bubblewrap) works gets no sandbox: the services report it and
test runs wait.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bdg_cli.procs import die_with_parent_hook
from bdg_cli.sandbox_daemon import NO_BACKEND, NotStarted, Place, launch, probe, roots_env, stop
from bdg_contracts import sandbox as sb
from bdg_jobs.sources import DEMO_REPOS, default_grants_file, load_grants, write_grants
from bdg_runtime.settings import Settings
from bdg_sandbox.client import SandboxClient

Say = Callable[[str], None]


@dataclass(frozen=True)
class OwnSandbox:
    """A sandboxd we started; ``stop()`` it on the way out."""

    place: Place
    pid: int
    roots: tuple[Path, ...]

    def stop(self, timeout: float = 20.0) -> None:
        stop(self.place, self.pid, timeout)


def default_roots(settings: Settings) -> tuple[Path, ...]:
    """Where users point jobs at: the current directory and BDG_HOME's demo repositories (the
    rest of BDG_HOME is state, never a source, even under the current directory)."""
    home = settings.bdg_home.expanduser().resolve()
    roots = (Path.cwd().resolve(), home / DEMO_REPOS)
    return tuple(dict.fromkeys(roots))


def grant_roots(settings: Settings, roots: Sequence[Path]) -> tuple[Path, tuple[Path, ...]]:
    """(the grants file the services read, the roots sandboxd may read). An operator's
    BDG_SOURCE_GRANTS is used as it is; otherwise ``roots`` are granted to the local tenant
    (BDG_TENANT, default local) in BDG_HOME/source-grants.json."""
    if settings.bdg_source_grants is not None:
        granted = load_grants(settings.bdg_source_grants)
        every = tuple(dict.fromkeys(r for tenant_roots in granted.values() for r in tenant_roots))
        return settings.bdg_source_grants.resolve(), every
    path = default_grants_file(settings.bdg_home).resolve()
    write_grants(path, {os.environ.get("BDG_TENANT") or "local": roots})
    return path, tuple(roots)


def configured_roots() -> str | None:
    """SANDBOX_SOURCE_ROOTS as set in our environment (sandboxd reads it itself), if set."""
    return os.environ.get("SANDBOX_SOURCE_ROOTS") or None


def ensure_sandbox(
    settings: Settings, roots: Sequence[Path], say: Say, timeout: float = 30.0
) -> OwnSandbox | None:
    """Start sandboxd unless one answers; None when one answers already or none can run.

    Call it from the thread that lives as long as the daemon should (it dies with it)."""
    place = Place.from_settings(settings)
    try:
        SandboxClient(place.endpoint)
    except ValueError as error:
        say(f"sandbox: AGENT_SANDBOX_ENDPOINT: {error}; no sandbox started")
        return None
    answer = probe(place.endpoint, 2.0)
    if isinstance(answer, sb.Welcome):
        say(f"sandbox: sandboxd already answers at {place.endpoint} ({answer.backend}); using it")
        return None
    given = configured_roots()
    # sandboxd refuses BDG_HOME as a source: the one this stack runs with, even from --home.
    home = {"BDG_HOME": str(settings.bdg_home.expanduser().resolve())}
    env = home if given else {**home, **roots_env(roots)}
    started = launch(place, env, timeout, die_with_parent_hook())
    if isinstance(started, NotStarted):
        last = next((ln for ln in reversed(started.log.splitlines()) if ln.strip()), "")
        if started.code == NO_BACKEND:
            say(f"sandbox: no backend usable here ({last}); test runs will wait for a sandbox")
        else:
            say(f"sandbox: sandboxd {started.reason} ({last}); log {place.log_file}")
        return None
    shown = given or ", ".join(str(p) for p in roots)
    say(
        f"sandbox: sandboxd (pid {started.pid}) at {place.endpoint}, backend "
        f"{started.welcome.backend}; local repositories under {shown}; log {place.log_file}"
    )
    return OwnSandbox(place, started.pid, tuple(roots))

"""Sandbox backends under test, a fresh workspace per test, and the leftover checks.

Every backend whose module exists is tested (runc, and bubblewrap once its module is there);
each must be available here: both tools are installed on developers' machines and in CI, so an
unavailable backend fails instead of skipping.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bdg_contracts.sandbox import Limits
from bdg_sandboxd import cgroups
from bdg_sandboxd.backend import Backend, RunResult, RunSpec, Stream
from tests.waiting import wait_until

SANDBOX_UID = 65534
BACKEND_MODULES = {  # as bdg_sandboxd.backends.backend_classes() names them
    "runc": ("bdg_sandboxd.backends.runc", "RuncBackend"),
    "bwrap": ("bdg_sandboxd.backends.bwrap", "BwrapBackend"),
}
PRESENT = [name for name, (mod, _) in BACKEND_MODULES.items() if importlib.util.find_spec(mod)]


@pytest.fixture(params=PRESENT)
def backend(request: pytest.FixtureRequest) -> Backend:
    module, class_name = BACKEND_MODULES[request.param]
    cls: type[Backend] = getattr(importlib.import_module(module), class_name)
    availability = cls.available()
    assert availability.ok, f"{request.param} cannot run here: {availability.reason}"
    return cls()


@pytest.fixture
def workspace() -> Iterator[Path]:
    """Not under tmp_path: pytest's base directory is 0700 root, closed to uid 65534."""
    path = Path(tempfile.mkdtemp(prefix="bdg-ws-"))
    os.chown(path, SANDBOX_UID, SANDBOX_UID)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@dataclass
class Collected:
    """A sink that keeps the output (``keep=False``: only counts it)."""

    keep: bool = True
    stdout: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    counts: dict[str, int] = field(default_factory=lambda: {"stdout": 0, "stderr": 0})
    chunks: int = 0

    async def __call__(self, stream: Stream, data: bytes) -> None:
        self.chunks += 1
        self.counts[stream] += len(data)
        if self.keep:
            (self.stdout if stream == "stdout" else self.stderr).extend(data)

    def text(self) -> str:
        return self.stdout.decode(errors="replace")


def new_run_id() -> str:
    return f"t{secrets.token_hex(6)}"


def spec(
    workspace: Path,
    argv: list[str],
    *,
    stdin: bytes = b"",
    env: dict[str, str] | None = None,
    **limits: Any,
) -> RunSpec:
    """A RunSpec with a fresh run id; ``limits`` override Limits' defaults (timeout 30 s)."""
    return RunSpec(
        run_id=new_run_id(),
        argv=argv,
        workspace=workspace,
        env=env or {},
        limits=Limits(**{"timeout_s": 30, **limits}),
        stdin=stdin,
    )


def leftovers(backend: Backend, run_id: str, markers: tuple[str, ...] = ()) -> list[str]:
    """What a finished run must not leave: containers, processes, cgroups, mounts, bundles."""
    found: list[str] = []
    runc = shutil.which("runc")
    if runc is not None:
        listed = subprocess.run([runc, "list", "-q"], capture_output=True, text=True).stdout
        found += [f"runc container {c}" for c in listed.split() if c == run_id]
    needles = (run_id, *markers)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if any(n in cmdline for n in needles):
                found.append(f"process {entry.name}: {cmdline}")
    for tree in cgroups.hierarchies().trees():
        for pattern in (run_id, f"*/{run_id}", f"*/*/{run_id}"):
            found += [f"cgroup {p}" for p in tree.glob(pattern)]
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        if any(n in line for n in needles):
            found.append(f"mount {line}")
    state_dir = getattr(backend, "state_dir", None)
    if isinstance(state_dir, Path) and (state_dir / run_id).exists():
        found.append(f"bundle {state_dir / run_id}")
    return found


def assert_no_leftovers(backend: Backend, run_id: str, markers: tuple[str, ...] = ()) -> None:
    wait_until(
        lambda: not leftovers(backend, run_id, markers),
        timeout=5,
        what=f"run {run_id} to be cleaned up",
    )


async def run(
    backend: Backend,
    run_spec: RunSpec,
    sink: Collected | None = None,
    markers: tuple[str, ...] = (),
) -> tuple[RunResult, Collected]:
    """Run through the backend, then check that nothing is left behind."""
    out = sink if sink is not None else Collected()
    result = await backend.run(run_spec, out)
    assert_no_leftovers(backend, run_spec.run_id, (str(run_spec.workspace), *markers))
    return result, out


@pytest.fixture(scope="session", autouse=True)
def ci_has_every_tool() -> None:
    """On a laptop some sandbox tests skip for lack of root, bwrap or npm; CI installs all of
    them (.ci/run), so there a missing tool is a failure, never a silent skip."""
    if not os.environ.get("CI"):
        return
    missing = [tool for tool in ("runc", "bwrap", "npm", "node", "tini") if not shutil.which(tool)]
    assert os.geteuid() == 0, "CI runs the sandbox tests as root"
    assert not missing, f"CI lacks {missing}: .ci/run must install them"
    pip = subprocess.run(["/usr/bin/python3", "-m", "pip", "--version"], capture_output=True)
    assert pip.returncode == 0, "CI's system python3 needs pip (Debian's python3-pip)"
    from bdg_sandboxd.backends import backend_classes

    for name, cls in backend_classes().items():
        availability = cls.available()
        assert availability.ok, f"CI cannot run the {name} backend: {availability.reason}"

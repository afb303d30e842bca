"""The bubblewrap backend: each run in its own bwrap sandbox (bwrap_args.py says what it holds).

The launch is a chain of execs in one process: ``sh`` joins the run's cgroup, ``prlimit`` sets
rlimits, ``setpriv`` drops to uid 65534 when we are root (so the payload is host uid 65534, as
with runc), then ``bwrap`` builds the sandbox and loads the seccomp filter.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import os
import platform
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bdg_sandboxd import egress_wrap
from bdg_sandboxd.backend import Availability, Backend, RunResult, RunSpec, Sink
from bdg_sandboxd.backends.runc import RUN_ID, give_to_sandbox
from bdg_sandboxd.backends.stdio import feed, pump
from bdg_sandboxd.bwrap_args import SANDBOX_UID, Bind, Options, bwrap_argv, root_entries
from bdg_sandboxd.bwrap_args import seccomp_program as _seccomp_program
from bdg_sandboxd.limits import Cgroup, cgroups_writable, rlimit_argv

log = logging.getLogger(__name__)
DRAIN_S = 5.0  # after bwrap exits, how long its pipes may stay open (the pid namespace dies)
STOP_S = 2.0  # how long bwrap may take to exit once its sandbox is killed
EMPTY_S = 5.0  # how long killed processes may take to leave the cgroup
LAUNCHER_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}


class BwrapBackend(Backend):
    name = "bwrap"

    @classmethod
    def available(cls) -> Availability:
        return _probe()

    def protections(self) -> dict[str, bool]:
        cgroup = cgroups_writable()
        return {  # the runc backend's names where they mean the same
            "read_only_rootfs": True,
            "no_network": True,  # own network namespace: only lo
            "seccomp": _seccomp_supported(),
            "no_capabilities": True,
            "no_new_privileges": True,  # bwrap always sets PR_SET_NO_NEW_PRIVS
            "non_root_user": True,  # uid 65534
            "host_uid_not_daemon": os.geteuid() == 0,  # else 65534 maps to our own uid
            "pid_namespace": True,
            "user_namespace": True,
            "nested_userns_blocked": True,  # --disable-userns
            "tmp_size_limit": _tmp_size(),
            "memory_limit": cgroup,
            "pids_limit": cgroup,
            "cpu_limit": cgroup,
            "oom_detection": cgroup,
            "limits_in_cgroups": cgroup,  # else per-process RLIMIT_AS/NPROC/CPU (limits.py)
            "wall_clock_timeout": True,
        }

    async def run(self, spec: RunSpec, sink: Sink) -> RunResult:
        if not RUN_ID.match(spec.run_id):
            raise ValueError(f"run id {spec.run_id!r} cannot name a cgroup")
        spec, binds = with_egress(spec)
        if os.geteuid() == 0:  # the sandbox is host uid 65534: it must own its workspace
            await asyncio.to_thread(give_to_sandbox, spec.workspace)
        group = Cgroup.create(f"bdg-{spec.run_id}", spec.limits) if cgroups_writable() else None
        try:
            return await _run(spec, binds, group, sink)
        finally:
            if group is not None:
                await asyncio.shield(_empty(group))


async def _run(
    spec: RunSpec, binds: tuple[Bind, ...], group: Cgroup | None, sink: Sink
) -> RunResult:
    seccomp_fd = _seccomp_fd()
    try:
        argv = launch_argv(spec, binds, group, seccomp_fd)
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.PIPE if spec.stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=LAUNCHER_ENV,
            pass_fds=() if seccomp_fd is None else (seccomp_fd,),
            start_new_session=True,
        )
    finally:
        if seccomp_fd is not None:
            os.close(seccomp_fd)
    assert proc.stdout is not None
    assert proc.stderr is not None
    io = asyncio.gather(
        pump(proc.stdout, "stdout", sink),
        pump(proc.stderr, "stderr", sink),
        feed(proc.stdin, spec.stdin),
    )
    try:
        timed_out = await _wait_exit(proc, io, spec.limits.timeout_s)
        if timed_out:
            await _stop(proc, group)
        duration = time.monotonic() - started
        drained, _ = await asyncio.wait({io}, timeout=DRAIN_S)
        if not drained:  # something still holds the pipes: it goes with the rest
            await _stop(proc, group)
        await io
    except BaseException:  # cancelled, or the sink failed: nothing may outlive the run
        io.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.shield(_stop(proc, group))
        with contextlib.suppress(BaseException):
            await io
        raise
    code, sig = _status(proc.returncode)
    oom = group is not None and group.oom_killed()
    return RunResult(code, sig, duration, oom=oom, timed_out=timed_out)


async def _wait_exit(
    proc: asyncio.subprocess.Process, io: asyncio.Future[Any], timeout: float
) -> bool:
    """Wait for the exit; True when ``timeout`` passed first. A failing sink raises here."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    exited = asyncio.ensure_future(proc.wait())
    pending: set[asyncio.Future[Any]] = {exited, io}
    try:
        while not exited.done():
            done, pending = await asyncio.wait(
                pending,
                timeout=max(0.0, deadline - loop.time()),
                return_when=asyncio.FIRST_COMPLETED,
            )
            if not done:
                return True
            if io in done:
                io.result()
        return False
    finally:
        exited.cancel()


def launch_argv(
    spec: RunSpec, binds: tuple[Bind, ...], group: Cgroup | None, seccomp_fd: int | None
) -> list[str]:
    options = Options(root_entries(spec.rootfs), seccomp_fd, _tmp_size(), binds)
    prefix = group.join_argv() if group is not None else []
    prefix += rlimit_argv(spec.limits, cgroup=group is not None)
    if os.geteuid() == 0:
        uid = str(SANDBOX_UID)
        prefix += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]
    return [*prefix, *bwrap_argv(spec, options, _bwrap() or "bwrap")]


def _status(returncode: int | None) -> tuple[int | None, int | None]:
    """bwrap exits 128+N when the command died of signal N (as shells report it)."""
    if returncode is None:
        return None, None
    if returncode < 0:
        return None, -returncode
    if 128 < returncode < 128 + signal.NSIG:
        return None, returncode - 128
    return returncode, None


async def _stop(proc: asyncio.subprocess.Process, group: Cgroup | None) -> None:
    """Kill the run and wait for bwrap's exit.

    The sandbox's pid 1 (bwrap's only child) goes first: the kernel then kills its whole pid
    namespace and bwrap reaps it and exits, leaving no zombie behind. bwrap itself is killed
    only when it has no child yet (still setting up) or does not exit."""
    if proc.returncode is None:
        for child in _children(proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        await asyncio.wait({asyncio.ensure_future(proc.wait())}, timeout=STOP_S)
    if proc.returncode is None:  # not reaped yet, so the pid (and group id) is still ours
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    if group is not None:
        group.kill_all()
    await proc.wait()


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


async def _empty(group: Cgroup) -> None:
    """Kill what is left in the cgroup and remove it, waiting (bounded) for the exits."""
    deadline, pause = time.monotonic() + EMPTY_S, 0.001
    while True:
        group.kill_all()
        if group.remove():
            return
        if time.monotonic() > deadline:
            log.warning("cgroup %s still busy after %ss: left behind", group.dirs[0], EMPTY_S)
            return
        await asyncio.sleep(pause)  # bwrap's pid 1 often exits just after bwrap: look again soon
        pause = min(pause * 2, 0.05)


def with_egress(spec: RunSpec) -> tuple[RunSpec, tuple[Bind, ...]]:
    """The network policy applied: for "registry" the command runs under the egress forwarder,
    with the forwarder and the proxy's socket bound in (egress_wrap.py)."""
    wrapped = egress_wrap.wrap(spec)
    binds = tuple(Bind(str(src), dest, writable=not ro) for src, dest, ro in wrapped.mounts)
    return dataclasses.replace(spec, argv=wrapped.argv, env=wrapped.env), binds


def _seccomp_supported() -> bool:
    return platform.machine() == "x86_64"  # the filter is written for x86_64 syscall numbers


def _seccomp_fd() -> int | None:
    if not _seccomp_supported():
        return None
    fd = os.memfd_create("bdg-seccomp", os.MFD_CLOEXEC)
    os.write(fd, _program())
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


@functools.cache
def _program() -> bytes:
    return _seccomp_program()


@functools.cache
def _bwrap() -> str | None:
    return shutil.which("bwrap", path=LAUNCHER_ENV["PATH"])


@functools.cache
def _tmp_size() -> bool:
    """bwrap 0.7+ sizes a tmpfs with --size."""
    bwrap = _bwrap()
    if bwrap is None:
        return False
    out = subprocess.run([bwrap, "--help"], capture_output=True, text=True, check=False)
    return "--size" in out.stdout + out.stderr


@functools.cache
def _probe() -> Availability:
    """Run ``true`` the way every run goes (without cgroups): the only reliable test."""
    bwrap = _bwrap()
    if bwrap is None:
        return Availability(False, "bwrap not found on PATH (Debian package bubblewrap)")
    for tool in ("prlimit", "setpriv"):
        if shutil.which(tool, path=LAUNCHER_ENV["PATH"]) is None:
            return Availability(False, f"{tool} (util-linux) not found")
    with tempfile.TemporaryDirectory(prefix="bdg-bwrap-probe-") as ws:
        os.chmod(ws, 0o755)
        spec = RunSpec(run_id="probe", argv=["true"], workspace=Path(ws))
        fd = _seccomp_fd()
        try:
            out = subprocess.run(
                launch_argv(spec, (), None, fd),
                capture_output=True,
                env=LAUNCHER_ENV,
                pass_fds=() if fd is None else (fd,),
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Availability(False, f"bwrap could not start: {exc}")
        finally:
            if fd is not None:
                os.close(fd)
    if out.returncode != 0:
        why = out.stderr.decode(errors="replace").strip() or f"exit {out.returncode}"
        return Availability(False, f"bwrap cannot make a sandbox here: {why}")
    version = subprocess.run([bwrap, "--version"], capture_output=True, text=True, check=False)
    return Availability(True, f"{version.stdout.strip() or 'bwrap'} makes sandboxes here")

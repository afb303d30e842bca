"""The runc backend: one OCI bundle and one ``runc run`` per exec (root only).

The bundle (``<state_dir>/<run_id>/``) holds ``config.json`` (``bdg_sandboxd.oci``), an almost
empty ``rootfs/`` (mount points, and the host's /bin, /lib... symlinks into /usr) and runc's log
and pid file. ``runc run --keep`` runs in the foreground with pipes for stdio, so output streams
to the sink as it comes, and the container's cgroup survives its exit long enough to read the
OOM counter; then ``runc delete --force`` and the bundle goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import platform
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from bdg_sandboxd import cgroups, egress_wrap, oci, seccomp
from bdg_sandboxd.backend import (
    CACHE_MOUNT,
    Availability,
    Backend,
    RunResult,
    RunSpec,
    Sink,
)
from bdg_sandboxd.backends.stdio import CHUNK, feed, pump

log = logging.getLogger(__name__)
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$")  # what runc accepts as an id
MOUNT_POINTS = ("proc", "dev", "sys", "tmp", "run", "workspace")
# pid 1 of a pid namespace ignores signals it has no handler for and must reap orphans: tini does
# both (Debian package tini), else the program itself is pid 1.
INITS = ("/usr/bin/tini-static", "/usr/bin/tini")


CGROUP_RETRY_S = 0.02  # between tries to remove a cgroup whose last processes are dying


class RuncError(RuntimeError):
    """runc could not create the container (not an error of the program it was to run)."""


class RuncBackend(Backend):
    name = "runc"

    def __init__(
        self,
        state_dir: Path | None = None,
        *,
        runc: str = "runc",
        runc_root: Path | None = None,
        cgroup_parent: str = "/bdg-sandbox",
        host_dirs: Sequence[str] = oci.HOST_DIRS,
        init: str | None = "auto",
        kill_grace_s: float = 10.0,
    ) -> None:
        self.state_dir = state_dir or Path(tempfile.gettempdir()) / "bdg-sandbox-bundles"
        self.runc = shutil.which(runc) or runc
        self.runc_root = runc_root  # None: runc's default (/run/runc)
        self.cgroup_parent = "/" + cgroup_parent.strip("/")
        self.host_dirs = tuple(d.strip("/") for d in host_dirs)
        # A path in the sandbox's root (the host's when spec.rootfs is None).
        found = next((p for p in INITS if os.access(p, os.X_OK)), None)
        self.init = found if init == "auto" else init
        self.kill_grace_s = kill_grace_s
        self._cgroups = cgroups.hierarchies()
        self._seccomp = seccomp.profile(platform.machine())
        self._protections: dict[str, bool] | None = None

    @classmethod
    def available(cls) -> Availability:
        path = shutil.which("runc")
        if path is None:
            return Availability(False, "runc is not installed (Debian package runc)")
        if os.geteuid() != 0:
            return Availability(False, "not root: rootless runc is out of scope, use bwrap")
        try:
            done = subprocess.run(
                [path, "--version"], capture_output=True, text=True, timeout=10, check=True
            )
        except (OSError, subprocess.SubprocessError) as error:
            return Availability(False, f"`runc --version` failed: {error}")
        return Availability(True, done.stdout.splitlines()[0] if done.stdout else path)

    def protections(self) -> dict[str, bool]:
        if self._protections is None:
            controllers = self._cgroups.controllers()
            version = subprocess.run(
                [self.runc, "--version"], capture_output=True, text=True, timeout=10, check=False
            ).stdout
            kernel_seccomp = "Seccomp:" in Path("/proc/self/status").read_text()
            self._protections = {
                "read_only_rootfs": True,
                "no_network": True,
                "seccomp": "libseccomp" in version and kernel_seccomp,
                "no_capabilities": True,
                "no_new_privileges": True,
                "non_root_user": True,
                "pid_namespace": True,
                "tmp_size_limit": True,
                "memory_limit": "memory" in controllers,
                "pids_limit": "pids" in controllers,
                "cpu_limit": "cpu" in controllers,
            }
        return dict(self._protections)

    def cgroups_path(self, run_id: str) -> str:
        return f"{self.cgroup_parent}/{run_id}"

    async def run(self, spec: RunSpec, sink: Sink) -> RunResult:
        """``oom`` is True when the kernel OOM-killed any process of the run (even one whose
        parent carried on), or the run died of SIGKILL with its memory at the limit."""
        if not RUN_ID.match(spec.run_id):
            raise ValueError(f"run id {spec.run_id!r} is not a valid container id")
        bundle = self.state_dir / spec.run_id
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        bundle.mkdir(mode=0o700)  # FileExistsError: the id is in use, and nothing here is ours
        started = time.monotonic()
        # Shielded: cancelled halfway, it would leave a half-written bundle or a runc run whose
        # process we do not know; _clean_up waits for it instead.
        starting = asyncio.ensure_future(self._start(spec, bundle))
        try:
            proc = await asyncio.shield(starting)
            status, timed_out = await self._supervise(proc, spec, sink)
            duration = time.monotonic() - started
            memory = cgroups.memory_record(self._cgroups, self.cgroups_path(spec.run_id))
            if not (bundle / "pid").exists() and not timed_out:
                status = _start_failure(bundle / "runc.log")
        finally:
            await _uninterrupted(self._clean_up(spec.run_id, starting, bundle))
        code, sig = (None, status - 128) if 128 < status < 128 + 65 else (status, None)
        oom = memory is not None and (
            memory.oom_kills > 0 or (sig == signal.SIGKILL and not timed_out and memory.at_limit())
        )
        return RunResult(code=code, signal=sig, duration_s=duration, oom=oom, timed_out=timed_out)

    # -- the run ---------------------------------------------------------------------------------
    async def _supervise(self, proc: _Runc, spec: RunSpec, sink: Sink) -> tuple[int, bool]:
        """Stream output until runc exits; kill the container at the timeout.

        Returns (runc's exit status, timed out)."""
        out, err = proc.stdout, proc.stderr
        assert out is not None
        assert err is not None

        async def drive() -> int:
            await asyncio.gather(
                pump(out, "stdout", sink),
                pump(err, "stderr", sink),
                feed(proc.stdin, spec.stdin),
            )
            return await proc.wait()

        driving = asyncio.ensure_future(drive())
        try:
            done, _ = await asyncio.wait({driving}, timeout=spec.limits.timeout_s)
            if done:
                return driving.result(), False
            await self._kill(spec.run_id, proc)
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(asyncio.shield(driving), self.kill_grace_s), True
            # The sink is stuck: give up on the rest of the output (_clean_up drains it).
            status = proc.returncode
            return (128 + signal.SIGKILL if status is None else status), True
        finally:
            if not driving.done():
                driving.cancel()
                await asyncio.gather(driving, return_exceptions=True)

    async def _kill(self, run_id: str, proc: _Runc) -> None:
        """SIGKILL the container's init (which ends its pid namespace) until runc run exits."""
        deadline = time.monotonic() + self.kill_grace_s
        while proc.returncode is None and time.monotonic() < deadline:
            # Fails while runc is still creating the container (and once it has gone).
            killed = await self._runc_quiet("kill", run_id, "KILL")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.exited.wait(), 1.0 if killed else 0.02)
        if proc.returncode is None:
            log.warning("runc run %s outlived runc kill: SIGKILL", run_id)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()

    async def _start(self, spec: RunSpec, bundle: Path) -> _Runc:
        await asyncio.to_thread(self._prepare, spec, bundle)
        return await _spawn(
            self._runc_argv(
                "--log",
                str(bundle / "runc.log"),
                "--log-format",
                "json",
                "run",
                "--keep",
                "--bundle",
                str(bundle),
                "--pid-file",
                str(bundle / "pid"),
                spec.run_id,
            ),
            with_stdin=bool(spec.stdin),
        )

    async def _clean_up(self, run_id: str, starting: asyncio.Future[_Runc], bundle: Path) -> None:
        proc: _Runc | None = None
        with contextlib.suppress(Exception):
            proc = await starting  # (its error, if any, is run()'s to raise)
        if proc is not None:
            if proc.returncode is None:
                await self._kill(run_id, proc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_drain(proc), self.kill_grace_s)
        await self._runc_quiet("delete", "--force", run_id)  # fails when never created
        path = self.cgroups_path(run_id)
        for _attempt in range(100):  # runc left processes behind: they take a moment to die
            if not cgroups.kill_and_remove(self._cgroups, path):
                break
            await asyncio.sleep(CGROUP_RETRY_S)
        await asyncio.to_thread(_remove_bundle, bundle)

    # -- runc ------------------------------------------------------------------------------------
    def _runc_argv(self, *args: str) -> list[str]:
        root = ["--root", str(self.runc_root)] if self.runc_root is not None else []
        return [self.runc, *root, *args]

    async def _runc_quiet(self, *args: str) -> bool:
        proc = await asyncio.create_subprocess_exec(
            *self._runc_argv(*args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return await proc.wait() == 0

    # -- the bundle ------------------------------------------------------------------------------
    def _prepare(self, spec: RunSpec, bundle: Path) -> None:
        host_binds: list[oci.Bind] = []
        if spec.rootfs is None:
            root = "rootfs"
            rootfs = bundle / root
            rootfs.mkdir(mode=0o755)
            for name in self.host_dirs:
                host = Path("/") / name
                if host.is_symlink():  # /bin -> usr/bin on merged-/usr systems
                    (rootfs / name).parent.mkdir(parents=True, exist_ok=True)
                    (rootfs / name).symlink_to(os.readlink(host))
                elif host.is_dir():
                    (rootfs / name).mkdir(parents=True)
                    host_binds.append(oci.Bind(str(host), f"/{name}"))
            for name in MOUNT_POINTS:
                (rootfs / name).mkdir()
            if spec.cache is not None:  # only then: without the cache there is no /cache at all
                (rootfs / CACHE_MOUNT.lstrip("/")).mkdir()
            # runc mounts tmpfs with the mount point's mode before the configured one.
            (rootfs / "tmp").chmod(0o1777)
        else:
            root = str(spec.rootfs.resolve())
        argv, env, extra_binds = _registry_mounts(spec)
        if self.init is not None and (
            spec.rootfs is None or (spec.rootfs / self.init.lstrip("/")).exists()
        ):
            argv = [self.init, "--", *argv]
        config = oci.config(
            spec,
            root=root,
            cgroups_path=self.cgroups_path(spec.run_id),
            seccomp=self._seccomp,
            host_binds=host_binds,
            extra_binds=extra_binds,
            argv=argv,
            extra_env=env,
            masked=[str(p) for p in Path("/etc/ssh").glob("ssh_host_*key")],
        )
        (bundle / "config.json").write_text(json.dumps(config))
        give_to_sandbox(spec.workspace)


def _registry_mounts(spec: RunSpec) -> tuple[list[str], dict[str, str], list[oci.Bind]]:
    """The network policy: for ``network="registry"`` the command runs under the egress
    forwarder, with the forwarder and the allow-list proxy's socket bound in (egress_wrap)."""
    wrapped = egress_wrap.wrap(spec)
    binds = [oci.Bind(str(host), inside, readonly) for host, inside, readonly in wrapped.mounts]
    return wrapped.argv, wrapped.env, binds


def give_to_sandbox(workspace: Path) -> None:
    """chown the workspace to the sandbox's uid so it can write there; never through a symlink
    (fwalk holds directory fds) nor to a hard link that may be shared with a file elsewhere."""
    uid, gid = oci.SANDBOX_UID, oci.SANDBOX_GID
    if (workspace.stat().st_uid, workspace.stat().st_gid) != (uid, gid):
        os.chown(workspace, uid, gid)
    for _top, dirs, files, top_fd in os.fwalk(workspace):
        for name in (*dirs, *files):
            st = os.stat(name, dir_fd=top_fd, follow_symlinks=False)
            if (st.st_uid, st.st_gid) == (uid, gid):
                continue
            if not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1:
                continue
            os.chown(name, uid, gid, dir_fd=top_fd, follow_symlinks=False)


def _start_failure(runc_log: Path) -> int:
    """runc ran nothing: 127/126 when the program is missing or not executable, else raise."""
    messages = []
    with contextlib.suppress(OSError):
        for line in runc_log.read_text().splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if entry.get("level") in ("error", "fatal"):
                    messages.append(str(entry.get("msg", "")))
    message = "; ".join(messages) or "runc run failed without a message"
    if "exec:" in message and ("not found" in message or "no such file" in message):
        return 127
    if "exec:" in message and "permission denied" in message:
        return 126
    raise RuncError(message)


def _mounts_under(path: Path) -> list[str]:
    prefix = str(path)
    with open("/proc/self/mountinfo") as mountinfo:
        points = [line.split()[4] for line in mountinfo]
    return [p for p in points if p == prefix or p.startswith(prefix + "/")]


def _remove_bundle(bundle: Path) -> None:
    leaked = _mounts_under(bundle)
    if leaked:  # rmtree would descend into a bound /workspace or /usr
        log.error("not removing %s: still mounted there: %s", bundle, leaked)
        return
    shutil.rmtree(bundle, ignore_errors=True)


async def _drain(proc: _Runc) -> None:
    """Read what is left and wait: asyncio's wait() returns only once the pipes reach EOF."""
    readers = [s for s in (proc.stdout, proc.stderr) if s is not None]

    async def discard(stream: asyncio.StreamReader) -> None:
        while await stream.read(CHUNK):
            pass

    if proc.stdin is not None:
        proc.stdin.close()
    await asyncio.gather(*(discard(s) for s in readers))
    await proc.wait()


class _Runc(asyncio.subprocess.Process):
    """``runc run``, with an event set as soon as it exits (``wait()`` also waits for the pipes
    to reach EOF, which needs readers)."""

    exited: asyncio.Event


class _Protocol(asyncio.subprocess.SubprocessStreamProtocol):
    def __init__(self) -> None:
        super().__init__(limit=2 * CHUNK, loop=asyncio.get_running_loop())
        self.exited = asyncio.Event()

    def process_exited(self) -> None:
        super().process_exited()
        self.exited.set()


async def _spawn(argv: list[str], *, with_stdin: bool) -> _Runc:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.subprocess_exec(
        _Protocol,
        *argv,
        stdin=subprocess.PIPE if with_stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # signals meant for the daemon are not forwarded to the run
    )
    proc = _Runc(transport, protocol, loop)
    proc.exited = protocol.exited
    return proc


async def _uninterrupted(cleanup: Coroutine[Any, Any, None]) -> None:
    """Finish ``cleanup`` even when cancelled meanwhile; then re-raise the cancellation."""
    task = asyncio.ensure_future(cleanup)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
    task.result()
    if cancelled:
        raise asyncio.CancelledError

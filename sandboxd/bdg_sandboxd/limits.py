"""Resource limits for one sandboxed run: a cgroup (v1 memory+pids+cpu, or v2) when this host
lets us make one, else rlimits (per process, weaker: see ``rlimit_argv``).

The run joins the cgroup before it executes anything (``join_argv``: a shell writes its own pid
to each ``cgroup.procs`` and then execs the rest), so nothing it starts is ever outside.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import signal
from pathlib import Path

from bdg_contracts.sandbox import Limits

ROOT = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("memory", "pids", "cpu")
CPU_PERIOD_US = 100_000
JOIN_SCRIPT = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'


class Cgroup:
    """The cgroup(s) of one run: v1 has one directory per controller, v2 a single one."""

    def __init__(self, dirs: list[Path], v2: bool) -> None:
        self.dirs = dirs
        self.v2 = v2

    @classmethod
    def create(cls, name: str, limits: Limits, root: Path = ROOT) -> Cgroup:
        v2 = (root / "cgroup.controllers").exists()
        dirs = [root / name] if v2 else [root / c / name for c in V1_CONTROLLERS]
        group = cls(dirs, v2)
        try:
            for d in dirs:
                d.mkdir()
            group._write_limits(limits)
        except BaseException:
            group.remove()
            raise
        return group

    def _write_limits(self, limits: Limits) -> None:
        memory = limits.memory_mb << 20
        quota = max(1000, int(limits.cpus * CPU_PERIOD_US))
        if self.v2:
            d = self.dirs[0]
            _write(d / "memory.max", memory)
            _write(d / "memory.swap.max", 0, optional=True)
            _write(d / "pids.max", limits.pids)
            _write(d / "cpu.max", f"{quota} {CPU_PERIOD_US}")
            return
        mem, pids, cpu = self.dirs
        _write(mem / "memory.limit_in_bytes", memory)
        _write(mem / "memory.memsw.limit_in_bytes", memory, optional=True)  # no swapping out
        _write(pids / "pids.max", limits.pids)
        _write(cpu / "cpu.cfs_period_us", CPU_PERIOD_US)
        _write(cpu / "cpu.cfs_quota_us", quota)

    def join_argv(self) -> list[str]:
        """A prefix that puts the command in this cgroup before it runs."""
        procs = [str(d / "cgroup.procs") for d in self.dirs]
        return ["/bin/sh", "-c", JOIN_SCRIPT, "sh", *procs, "--"]

    def pids(self) -> set[int]:
        found: set[int] = set()
        for d in self.dirs:
            with contextlib.suppress(FileNotFoundError):
                found.update(int(p) for p in (d / "cgroup.procs").read_text().split())
        return found

    def kill_all(self) -> None:
        if self.v2:
            with contextlib.suppress(OSError):
                _write(self.dirs[0] / "cgroup.kill", 1)
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def oom_killed(self) -> bool:
        events = self.dirs[0] / ("memory.events" if self.v2 else "memory.oom_control")
        with contextlib.suppress(OSError):
            for line in events.read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and int(value) > 0:
                    return True
        return False

    def remove(self) -> bool:
        """Remove the directories (only once empty); True when none is left."""
        for d in self.dirs:
            with contextlib.suppress(FileNotFoundError):
                try:
                    d.rmdir()
                except OSError:  # EBUSY: processes still exiting
                    return False
        return True


def _write(path: Path, value: object, optional: bool = False) -> None:
    try:
        path.write_text(f"{value}\n")
    except (FileNotFoundError, PermissionError, OSError):
        if not optional:
            raise


@functools.cache
def cgroups_writable(root: Path = ROOT) -> bool:
    """Whether we may create (and limit) cgroups here: tried once with a throwaway one."""
    try:
        group = Cgroup.create(f"bdg-probe-{os.getpid()}-{secrets.token_hex(3)}", Limits(), root)
    except OSError:
        return False
    group.remove()
    return True


def rlimit_argv(limits: Limits, cgroup: bool) -> list[str]:
    """prlimit for what cgroups cannot give here: RLIMIT_AS (per process, not in total),
    RLIMIT_NPROC (per user namespace uid), RLIMIT_CPU (CPU seconds, not a rate). No core
    files either way (they would land in the workspace)."""
    argv = ["prlimit", "--core=0"]
    if not cgroup:
        cpu_s = max(1, int(limits.timeout_s * limits.cpus) + 1)
        argv += [f"--as={limits.memory_mb << 20}", f"--nproc={limits.pids}", f"--cpu={cpu_s}"]
    return [*argv, "--"]

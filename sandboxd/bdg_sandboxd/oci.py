"""The OCI runtime config (``config.json``) of one sandboxed exec: pure, from a RunSpec.

The policy (DESIGN.md section 4): a read-only root (the host's system
directories bound read-only when the spec names no rootfs), the workspace read-write at
/workspace (and the tenant's package cache read-write at /cache when asked), a size-limited
tmpfs at /tmp, uid/gid 65534, no capabilities, no new privileges, a
seccomp profile, own pid/ipc/uts/mount/network/cgroup namespaces (a new network namespace has only
``lo``), and memory (without swap), pids and CPU limits in the run's cgroup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bdg_contracts.sandbox import Limits
from bdg_sandboxd.backend import CACHE_MOUNT, RunSpec

SANDBOX_UID = SANDBOX_GID = 65534
CPU_PERIOD_US = 100_000
HOST_DIRS = ("usr", "etc", "bin", "lib", "lib64", "sbin")  # the host's, when no rootfs is built
DEFAULT_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    # Python checks cached bytecode by the source's mtime in whole seconds and its size: a
    # workspace rewritten within a second (a resample, a candidate) ran the old code.
    "PYTHONDONTWRITEBYTECODE": "1",
}
# Hidden (/dev/null or an empty read-only tmpfs over them) even though uid 65534 cannot read them.
HOST_SECRETS = (
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/etc/ssl/private",
    "/etc/security/opasswd",
)
RUNC_MASKED = (
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/kernel/debug",
    "/sys/kernel/security",
)
RUNC_READONLY = (
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
)
NAMESPACES = ("pid", "network", "ipc", "uts", "mount", "cgroup")
DEVPTS = ("newinstance", "ptmxmode=0666", "mode=0620")  # its own ptys, none of the host's


@dataclass(frozen=True)
class Bind:
    source: str  # host path
    destination: str  # path in the sandbox
    readonly: bool = True


def _mount(destination: str, kind: str, source: str, *options: str) -> dict[str, Any]:
    return {"destination": destination, "type": kind, "source": source, "options": list(options)}


def _bind(bind: Bind) -> dict[str, Any]:
    mode = "ro" if bind.readonly else "rw"
    return _mount(bind.destination, "bind", bind.source, "bind", mode, "nosuid", "nodev")


def _tmpfs(destination: str, *options: str) -> dict[str, Any]:
    return _mount(destination, "tmpfs", "tmpfs", *options)


def _system_mounts() -> list[dict[str, Any]]:
    return [
        _mount("/proc", "proc", "proc", "nosuid", "noexec", "nodev"),
        _tmpfs("/dev", "nosuid", "strictatime", "mode=755", "size=65536k"),
        _mount("/dev/pts", "devpts", "devpts", "nosuid", "noexec", *DEVPTS),
        _mount("/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k"),
        _mount("/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev"),
        _mount("/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro"),
    ]


def _mounts(
    spec: RunSpec, host_binds: Sequence[Bind], extra_binds: Sequence[Bind]
) -> list[dict[str, Any]]:
    cache = [_bind(Bind(str(spec.cache), CACHE_MOUNT, readonly=False))] if spec.cache else []
    return [
        *_system_mounts(),
        *(_bind(b) for b in host_binds),
        _bind(Bind(str(spec.workspace), "/workspace", readonly=False)),
        *cache,
        _tmpfs("/tmp", "nosuid", "nodev", "mode=1777", f"size={spec.limits.tmp_mb}m"),
        # Root's only, for the mount points of extra binds (none written into the rootfs).
        _tmpfs("/run", "nosuid", "nodev", "noexec", "mode=755", "size=1m"),
        *(_bind(b) for b in extra_binds),
    ]


def _process(spec: RunSpec, argv: Sequence[str], env: Mapping[str, str]) -> dict[str, Any]:
    no_caps: dict[str, list[str]] = {
        name: [] for name in ("bounding", "effective", "inheritable", "permitted", "ambient")
    }
    return {
        "terminal": False,
        "user": {"uid": SANDBOX_UID, "gid": SANDBOX_GID, "additionalGids": []},
        "args": list(argv),
        "env": [f"{key}={value}" for key, value in env.items()],
        "cwd": spec.cwd,
        "capabilities": no_caps,
        "rlimits": [
            {"type": "RLIMIT_NOFILE", "hard": 4096, "soft": 4096},
            {"type": "RLIMIT_CORE", "hard": 0, "soft": 0},
        ],
        "noNewPrivileges": True,
        "oomScoreAdj": 1000,  # under host memory pressure, the sandbox goes first
    }


def _resources(limits: Limits) -> dict[str, Any]:
    memory = limits.memory_mb << 20
    return {
        "devices": [{"allow": False, "access": "rwm"}],
        "memory": {"limit": memory, "swap": memory},  # swap = memory: no swap at all
        "pids": {"limit": limits.pids},
        "cpu": {"quota": round(limits.cpus * CPU_PERIOD_US), "period": CPU_PERIOD_US},
    }


def _linux(
    limits: Limits, cgroups_path: str, seccomp: Mapping[str, Any], masked: Sequence[str]
) -> dict[str, Any]:
    return {
        "namespaces": [{"type": kind} for kind in NAMESPACES],
        "cgroupsPath": cgroups_path,
        "resources": _resources(limits),
        "maskedPaths": [*RUNC_MASKED, *HOST_SECRETS, *masked],
        "readonlyPaths": list(RUNC_READONLY),
        "seccomp": dict(seccomp),
    }


def config(
    spec: RunSpec,
    *,
    root: str,
    cgroups_path: str,
    seccomp: Mapping[str, Any],
    host_binds: Sequence[Bind] = (),
    extra_binds: Sequence[Bind] = (),
    argv: Sequence[str] | None = None,
    extra_env: Mapping[str, str] | None = None,
    masked: Sequence[str] = (),
) -> dict[str, Any]:
    """``root``: the rootfs path (relative to the bundle or absolute); ``host_binds``: the host
    system directories bound into it; ``extra_binds``: e.g. the egress proxy's socket;
    ``masked``: more paths to hide (besides HOST_SECRETS), e.g. the host's ssh keys."""
    env = {**DEFAULT_ENV, **spec.env, **(extra_env or {})}
    return {
        "ociVersion": "1.0.2",
        "process": _process(spec, argv if argv is not None else spec.argv, env),
        "root": {"path": root, "readonly": True},
        "hostname": "sandbox",
        "mounts": _mounts(spec, host_binds, extra_binds),
        "linux": _linux(spec.limits, cgroups_path, seccomp, masked),
    }

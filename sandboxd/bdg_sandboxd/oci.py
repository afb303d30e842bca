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

from bdg_sandboxd.backend import CACHE_MOUNT, RunSpec

SANDBOX_UID = SANDBOX_GID = 65534
CPU_PERIOD_US = 100_000
HOST_DIRS = ("usr", "etc", "bin", "lib", "lib64", "sbin")  # the host's, when no rootfs is built
DEFAULT_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
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


@dataclass(frozen=True)
class Bind:
    source: str  # host path
    destination: str  # path in the sandbox
    readonly: bool = True


def _bind(bind: Bind) -> dict[str, Any]:
    options = ["bind", "ro" if bind.readonly else "rw", "nosuid", "nodev"]
    return {
        "destination": bind.destination,
        "type": "bind",
        "source": bind.source,
        "options": options,
    }


def _system_mounts() -> list[dict[str, Any]]:
    return [
        {
            "destination": "/proc",
            "type": "proc",
            "source": "proc",
            "options": ["nosuid", "noexec", "nodev"],
        },
        {
            "destination": "/dev",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
        },
        {
            "destination": "/dev/pts",
            "type": "devpts",
            "source": "devpts",
            "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"],
        },
        {
            "destination": "/dev/shm",
            "type": "tmpfs",
            "source": "shm",
            "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        },
        {
            "destination": "/dev/mqueue",
            "type": "mqueue",
            "source": "mqueue",
            "options": ["nosuid", "noexec", "nodev"],
        },
        {
            "destination": "/sys",
            "type": "sysfs",
            "source": "sysfs",
            "options": ["nosuid", "noexec", "nodev", "ro"],
        },
    ]


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
    limits = spec.limits
    env = {**DEFAULT_ENV, **spec.env, **(extra_env or {})}
    memory = limits.memory_mb << 20
    mounts = [
        *_system_mounts(),
        *(_bind(b) for b in host_binds),
        _bind(Bind(str(spec.workspace), "/workspace", readonly=False)),
        *([_bind(Bind(str(spec.cache), CACHE_MOUNT, readonly=False))] if spec.cache else []),
        {
            "destination": "/tmp",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "nodev", "mode=1777", f"size={limits.tmp_mb}m"],
        },
        # Root's only, for the mount points of extra binds (none written into the rootfs).
        {
            "destination": "/run",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "nodev", "noexec", "mode=755", "size=1m"],
        },
        *(_bind(b) for b in extra_binds),
    ]
    no_caps: dict[str, list[str]] = {
        name: [] for name in ("bounding", "effective", "inheritable", "permitted", "ambient")
    }
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": SANDBOX_UID, "gid": SANDBOX_GID, "additionalGids": []},
            "args": list(argv if argv is not None else spec.argv),
            "env": [f"{key}={value}" for key, value in env.items()],
            "cwd": spec.cwd,
            "capabilities": no_caps,
            "rlimits": [
                {"type": "RLIMIT_NOFILE", "hard": 4096, "soft": 4096},
                {"type": "RLIMIT_CORE", "hard": 0, "soft": 0},
            ],
            "noNewPrivileges": True,
            "oomScoreAdj": 1000,  # under host memory pressure, the sandbox goes first
        },
        "root": {"path": root, "readonly": True},
        "hostname": "sandbox",
        "mounts": mounts,
        "linux": {
            "namespaces": [{"type": kind} for kind in NAMESPACES],
            "cgroupsPath": cgroups_path,
            "resources": {
                "devices": [{"allow": False, "access": "rwm"}],
                "memory": {"limit": memory, "swap": memory},  # swap = memory: no swap at all
                "pids": {"limit": limits.pids},
                "cpu": {"quota": round(limits.cpus * CPU_PERIOD_US), "period": CPU_PERIOD_US},
            },
            "maskedPaths": [*RUNC_MASKED, *HOST_SECRETS, *masked],
            "readonlyPaths": list(RUNC_READONLY),
            "seccomp": dict(seccomp),
        },
    }

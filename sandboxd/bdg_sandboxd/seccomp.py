"""The seccomp profile of sandboxed processes (OCI ``linux.seccomp``).

Everything is allowed except what a build or a test never needs and an escape often does:
tracing, mounting, namespaces, kernel keyrings, BPF, modules, kexec, ... which fail with EPERM.
``clone`` is refused when it asks for a new namespace (one rule per flag, since a rule can only
test ``arg & mask == value``), and ``clone3``, whose flags sit in memory seccomp cannot read,
fails with ENOSYS so the C library falls back to ``clone``.
"""

from __future__ import annotations

import errno
from typing import Any

DENIED: tuple[str, ...] = (
    # tracing and reading other processes
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "perf_event_open",
    # mounts and the root
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "chroot",
    "mount_setattr",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    # namespaces
    "unshare",
    "setns",
    # kernel keyrings
    "keyctl",
    "add_key",
    "request_key",
    # BPF, userfaultfd, io_uring (a large, often-patched attack surface)
    "bpf",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    # kernel modules and kexec
    "init_module",
    "finit_module",
    "delete_module",
    "create_module",
    "kexec_load",
    "kexec_file_load",
    # the machine
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "sethostname",
    "setdomainname",
    "iopl",
    "ioperm",
    "quotactl",
    "syslog",
    "lookup_dcookie",
    "nfsservctl",
    "vhangup",
    # file handles bypass the mount's path checks
    "open_by_handle_at",
    "name_to_handle_at",
)

# CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
# CLONE_NEWNET, CLONE_NEWTIME
CLONE_NAMESPACE_FLAGS: tuple[int, ...] = (
    0x00020000,
    0x02000000,
    0x04000000,
    0x08000000,
    0x10000000,
    0x20000000,
    0x40000000,
    0x00000080,
)

ARCHITECTURES: dict[str, list[str]] = {
    "x86_64": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "aarch64": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
}


def profile(machine: str) -> dict[str, Any]:
    """The profile for ``platform.machine()`` (its own and its compat architectures)."""
    eperm: dict[str, Any] = {"action": "SCMP_ACT_ERRNO", "errnoRet": errno.EPERM}
    # On s390x and cris the flags are clone's second argument; elsewhere the first.
    flags_arg = 1 if machine in ("s390x", "s390") else 0
    rules: list[dict[str, Any]] = [{"names": list(DENIED), **eperm}]
    rules += [
        {
            "names": ["clone"],
            **eperm,
            "args": [
                {"index": flags_arg, "value": flag, "valueTwo": flag, "op": "SCMP_CMP_MASKED_EQ"}
            ],
        }
        for flag in CLONE_NAMESPACE_FLAGS
    ]
    rules.append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.ENOSYS})
    return {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ARCHITECTURES.get(machine, []),
        "syscalls": rules,
    }

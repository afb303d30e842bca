"""What bubblewrap is asked to build: a RunSpec turned into bwrap's argv, and the seccomp
filter it loads (a classic-BPF deny-list for x86_64). Pure: the host's root entries and the
seccomp fd come in as arguments (see ``root_entries`` for reading them).
"""

from __future__ import annotations

import errno
import functools
import operator
import struct
from dataclasses import dataclass
from pathlib import Path

from bdg_sandboxd import seccomp
from bdg_sandboxd.backend import CACHE_MOUNT, RunSpec

SANDBOX_UID = 65534
HOST_ROOT_NAMES = ("usr", "etc", "bin", "lib", "lib64", "sbin")
# Top-level names the sandbox makes itself (or never has): not taken from a rootfs.
OWN_NAMES = frozenset({"proc", "dev", "tmp", "workspace", "sys", "run", CACHE_MOUNT.lstrip("/")})
DEFAULT_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    # Python checks cached bytecode by the source's mtime in whole seconds and its size: a
    # workspace rewritten within a second (a resample, a candidate) ran the old code.
    "PYTHONDONTWRITEBYTECODE": "1",
}


@dataclass(frozen=True)
class RootEntry:
    """One top-level entry of the sandbox's /: a read-only bind of ``source``, or a symlink."""

    name: str
    source: str  # host path to bind, or the link's target when ``symlink``
    symlink: bool = False


@dataclass(frozen=True)
class Bind:
    source: str
    dest: str
    writable: bool = False


@dataclass(frozen=True)
class Options:
    root: tuple[RootEntry, ...]
    seccomp_fd: int | None = None
    tmp_size: bool = True  # bwrap understands --size (0.7+); else /tmp is bounded by memory only
    binds: tuple[Bind, ...] = ()


def root_entries(rootfs: Path | None, host_root: Path = Path("/")) -> tuple[RootEntry, ...]:
    """The entries to bind: the host's /usr, /etc... or every top-level entry of ``rootfs``."""
    base = rootfs if rootfs is not None else host_root
    if rootfs is not None:
        names = sorted(p.name for p in rootfs.iterdir() if p.name not in OWN_NAMES)
    else:
        names = [n for n in HOST_ROOT_NAMES if (base / n).is_symlink() or (base / n).exists()]
    entries = []
    for name in names:
        path = base / name
        if path.is_symlink():
            entries.append(RootEntry(name, str(path.readlink()), symlink=True))
        else:
            entries.append(RootEntry(name, str(path)))
    return tuple(entries)


def bwrap_argv(spec: RunSpec, options: Options, bwrap: str = "bwrap") -> list[str]:
    if not spec.argv:
        raise ValueError("argv is empty")
    if not spec.cwd.startswith("/"):
        raise ValueError(f"cwd must be absolute: {spec.cwd!r}")
    argv = [
        bwrap,
        "--unshare-all",
        "--unshare-user",
        "--unshare-cgroup",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--hostname",
        "sandbox",
        "--cap-drop",
        "ALL",
        "--uid",
        str(SANDBOX_UID),
        "--gid",
        str(SANDBOX_UID),
        "--clearenv",
    ]
    for key, value in {**DEFAULT_ENV, **spec.env}.items():
        if not key or "=" in key or "\0" in key + value:
            raise ValueError(f"bad environment variable {key!r}")
        argv += ["--setenv", key, value]
    for entry in options.root:
        if "/" in entry.name or entry.name in ("", ".", ".."):
            raise ValueError(f"bad root entry {entry.name!r}")
        argv += ["--symlink" if entry.symlink else "--ro-bind", entry.source, "/" + entry.name]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    if options.tmp_size:
        argv += ["--size", str(spec.limits.tmp_mb << 20)]
    argv += ["--tmpfs", "/tmp", "--bind", str(spec.workspace), "/workspace"]
    if spec.cache is not None:
        argv += ["--bind", str(spec.cache), CACHE_MOUNT]
    for bind in options.binds:
        argv += ["--bind" if bind.writable else "--ro-bind", bind.source, bind.dest]
    argv += ["--remount-ro", "/", "--chdir", spec.cwd]
    if options.seccomp_fd is not None:
        argv += ["--seccomp", str(options.seccomp_fd)]
    return [*argv, "--", *spec.argv]


# -- seccomp ---------------------------------------------------------------------------------------
# The runc backend's policy (seccomp.py) compiled by hand, since bwrap takes classic BPF and we
# have no libseccomp: other architectures (i386 via int 0x80, x32) are killed or refused outright.
AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
RET_KILL_PROCESS, RET_ALLOW, RET_ERRNO = 0x80000000, 0x7FFF0000, 0x00050000
NR_CLONE, NR_CLONE3 = 56, 435
X86_64 = {  # asm/unistd_64.h; None: no such syscall on x86_64
    "ptrace": 101,
    "syslog": 103,
    "vhangup": 153,
    "pivot_root": 155,
    "adjtimex": 159,
    "chroot": 161,
    "acct": 163,
    "settimeofday": 164,
    "mount": 165,
    "umount": None,
    "umount2": 166,
    "swapon": 167,
    "swapoff": 168,
    "reboot": 169,
    "sethostname": 170,
    "setdomainname": 171,
    "iopl": 172,
    "ioperm": 173,
    "create_module": 174,
    "init_module": 175,
    "delete_module": 176,
    "quotactl": 179,
    "nfsservctl": 180,
    "lookup_dcookie": 212,
    "clock_settime": 227,
    "kexec_load": 246,
    "add_key": 248,
    "request_key": 249,
    "keyctl": 250,
    "unshare": 272,
    "perf_event_open": 298,
    "name_to_handle_at": 303,
    "open_by_handle_at": 304,
    "clock_adjtime": 305,
    "setns": 308,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "kcmp": 312,
    "finit_module": 313,
    "kexec_file_load": 320,
    "bpf": 321,
    "userfaultfd": 323,
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "mount_setattr": 442,
}
_LD_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_NR, _ARCH, _ARG0 = 0, 4, 16  # offsets in struct seccomp_data (args: low 32 bits first)
Instruction = tuple[int, int, str | None, str | None]  # code, k, jump-if-true/false label


def denied_numbers(names: tuple[str, ...] = seccomp.DENIED) -> list[int]:
    unknown = [name for name in names if name not in X86_64]
    if unknown:
        raise ValueError(f"no x86_64 number known for {unknown}: add them to X86_64")
    return sorted({nr for name in names if (nr := X86_64[name]) is not None})


def seccomp_program() -> bytes:
    """The filter as bwrap's --seccomp reads it: an array of struct sock_filter."""
    eperm, enosys = RET_ERRNO | errno.EPERM, RET_ERRNO | errno.ENOSYS
    namespaces = functools.reduce(operator.or_, seccomp.CLONE_NAMESPACE_FLAGS)
    program: list[Instruction | str] = [  # a str marks where its label points
        (_LD_ABS, _ARCH, None, None),
        (_JEQ, AUDIT_ARCH_X86_64, None, "kill"),
        (_LD_ABS, _NR, None, None),
        (_JGE, X32_SYSCALL_BIT, "deny", None),
        (_JEQ, NR_CLONE3, "nosys", None),  # its flags sit behind a pointer: glibc falls back
        (_JEQ, NR_CLONE, "clone", None),
        *((_JEQ, nr, "deny", None) for nr in denied_numbers()),
        (_RET, RET_ALLOW, None, None),
        "clone",
        (_LD_ABS, _ARG0, None, None),
        (_JSET, namespaces, "deny", None),
        (_RET, RET_ALLOW, None, None),
        "kill",
        (_RET, RET_KILL_PROCESS, None, None),
        "deny",
        (_RET, eperm, None, None),
        "nosys",
        (_RET, enosys, None, None),
    ]
    labels: dict[str, int] = {}
    code: list[Instruction] = []
    for item in program:
        if isinstance(item, str):
            labels[item] = len(code)
        else:
            code.append(item)
    out = bytearray()
    for index, (op, k, jt, jf) in enumerate(code):
        jumps = [labels[label] - index - 1 if label else 0 for label in (jt, jf)]
        if not all(0 <= jump < 256 for jump in jumps):
            raise ValueError("seccomp jump out of range")
        out += struct.pack("<HBBI", op, jumps[0], jumps[1], k)
    return bytes(out)

"""bwrap_args: the argv bubblewrap gets for a RunSpec, and the seccomp filter (run here through a
small classic-BPF interpreter, so no sandbox is needed)."""

from __future__ import annotations

import errno
import struct
from pathlib import Path

import pytest

from bdg_contracts.sandbox import Limits
from bdg_sandboxd import seccomp
from bdg_sandboxd.backend import RunSpec
from bdg_sandboxd.bwrap_args import (
    AUDIT_ARCH_X86_64,
    RET_ALLOW,
    RET_ERRNO,
    RET_KILL_PROCESS,
    X86_64,
    Bind,
    Options,
    RootEntry,
    bwrap_argv,
    denied_numbers,
    root_entries,
    seccomp_program,
)

pytestmark = pytest.mark.timeout(10)
ROOT = (RootEntry("usr", "/usr"), RootEntry("bin", "usr/bin", symlink=True))


def spec(**kwargs: object) -> RunSpec:
    fields: dict[str, object] = {
        "run_id": "r1",
        "argv": ["echo", "hi"],
        "workspace": Path("/srv/ws/1"),
    }
    return RunSpec(**(fields | kwargs))  # type: ignore[arg-type]


def pairs(argv: list[str], flag: str) -> list[tuple[str, str]]:
    return [(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a == flag]


def test_namespaces_user_and_command() -> None:
    argv = bwrap_argv(spec(), Options(ROOT), bwrap="/usr/bin/bwrap")
    head = argv[: argv.index("--")]
    assert argv[0] == "/usr/bin/bwrap"
    for flag in (
        "--unshare-all",
        "--unshare-user",
        "--unshare-cgroup",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
    ):
        assert flag in head
    assert "--share-net" not in head
    assert head[head.index("--cap-drop") + 1] == "ALL"
    assert head[head.index("--uid") + 1] == head[head.index("--gid") + 1] == "65534"
    assert argv[argv.index("--") + 1 :] == ["echo", "hi"]


def test_root_workspace_tmp_and_order() -> None:
    argv = bwrap_argv(spec(limits=Limits(tmp_mb=3)), Options(ROOT))
    assert pairs(argv, "--ro-bind") == [("/usr", "/usr")]
    assert pairs(argv, "--symlink") == [("usr/bin", "/bin")]
    assert pairs(argv, "--bind") == [("/srv/ws/1", "/workspace")]
    assert argv[argv.index("--proc") + 1] == "/proc"
    assert argv[argv.index("--dev") + 1] == "/dev"
    size = argv.index("--size")
    assert argv[size + 1 : size + 4] == [str(3 << 20), "--tmpfs", "/tmp"]
    # / goes read-only once every mount point in it exists, then the command starts in cwd.
    remount = argv.index("--remount-ro")
    assert argv[remount + 1] == "/"
    assert remount > max(i for i, a in enumerate(argv) if a in ("--bind", "--tmpfs", "--proc"))
    assert argv[argv.index("--chdir") + 1] == "/workspace"


def test_without_size_support_tmp_is_plain_tmpfs() -> None:
    argv = bwrap_argv(spec(), Options(ROOT, tmp_size=False))
    assert "--size" not in argv
    assert argv[argv.index("--tmpfs") + 1] == "/tmp"


def test_extra_binds_and_seccomp_fd() -> None:
    binds = (Bind("/run/p.sock", "/run/bdg-proxy.sock"), Bind("/data", "/data", writable=True))
    argv = bwrap_argv(spec(), Options(ROOT, seccomp_fd=7, binds=binds))
    assert ("/run/p.sock", "/run/bdg-proxy.sock") in pairs(argv, "--ro-bind")
    assert ("/data", "/data") in pairs(argv, "--bind")
    assert argv[argv.index("--seccomp") + 1] == "7"
    assert "--seccomp" not in bwrap_argv(spec(), Options(ROOT))


def test_environment_is_only_defaults_and_spec() -> None:
    argv = bwrap_argv(spec(env={"FOO": "bar", "HOME": "/workspace"}), Options(ROOT))
    env = dict(pairs(argv, "--setenv"))
    assert env["FOO"] == "bar"
    assert env["HOME"] == "/workspace"
    assert env["PATH"].startswith("/usr/local/sbin")
    assert set(env) == {"FOO", "HOME", "PATH", "LANG", "PYTHONDONTWRITEBYTECODE"}


@pytest.mark.parametrize(
    "bad",
    [
        {"argv": []},
        {"cwd": "workspace"},
        {"env": {"A=B": "x"}},
        {"env": {"": "x"}},
        {"env": {"A": "x\0y"}},
    ],
)
def test_refuses_bad_specs(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        bwrap_argv(spec(**bad), Options(ROOT))


def test_refuses_root_entries_that_are_paths() -> None:
    with pytest.raises(ValueError, match="bad root entry"):
        bwrap_argv(spec(), Options((RootEntry("../etc", "/etc"),)))


def test_root_entries_of_host_and_of_rootfs(tmp_path: Path) -> None:
    host = tmp_path / "host"
    (host / "usr" / "bin").mkdir(parents=True)
    (host / "etc").mkdir()
    (host / "bin").symlink_to("usr/bin")
    (host / "home").mkdir()  # not one of the host names: not bound
    assert root_entries(None, host_root=host) == (
        RootEntry("usr", str(host / "usr")),
        RootEntry("etc", str(host / "etc")),
        RootEntry("bin", "usr/bin", symlink=True),
    )
    rootfs = tmp_path / "rootfs"
    for name in ("usr", "opt", "proc", "dev", "tmp", "workspace", "sys"):
        (rootfs / name).mkdir(parents=True)
    (rootfs / "lib").symlink_to("usr/lib")
    assert root_entries(rootfs) == (
        RootEntry("lib", "usr/lib", symlink=True),
        RootEntry("opt", str(rootfs / "opt")),
        RootEntry("usr", str(rootfs / "usr")),
    )


# -- seccomp ---------------------------------------------------------------------------------------
def run_filter(
    program: bytes, nr: int, args: tuple[int, ...] = (), arch: int = AUDIT_ARCH_X86_64
) -> int:
    """Classic BPF, the subset the filter uses, over a struct seccomp_data."""
    full = (*args, *[0] * (6 - len(args)))
    data = struct.pack("<iIQ6Q", nr, arch, 0, *full)
    code = [struct.unpack_from("<HBBI", program, i) for i in range(0, len(program), 8)]
    acc, pc = 0, 0
    while True:
        op, jt, jf, k = code[pc]
        pc += 1
        if op == 0x20:  # ld [k]
            (acc,) = struct.unpack_from("<I", data, k)
        elif op in (0x15, 0x35, 0x45):  # jeq, jge, jset
            hit = {0x15: acc == k, 0x35: acc >= k, 0x45: bool(acc & k)}[op]
            pc += jt if hit else jf
        elif op == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected BPF opcode {op:#x}")


@pytest.fixture(scope="module")
def program() -> bytes:
    return seccomp_program()


EPERM, ENOSYS = RET_ERRNO | errno.EPERM, RET_ERRNO | errno.ENOSYS


def test_filter_allows_ordinary_syscalls(program: bytes) -> None:
    for nr in (0, 1, 2, 39, 59, 60, 231, 257):  # read write open getpid execve exit ...
        assert run_filter(program, nr) == RET_ALLOW
    fork_like = 0x01200011  # CLONE_CHILD_SETTID|CLONE_CHILD_CLEARTID|SIGCHLD (fork)
    assert run_filter(program, 56, (fork_like,)) == RET_ALLOW
    assert run_filter(program, 56, (0x003D0F00,)) == RET_ALLOW  # pthread_create's flags


def test_filter_refuses_the_runc_policy(program: bytes) -> None:
    for name in seccomp.DENIED:
        if X86_64[name] is not None:
            assert run_filter(program, X86_64[name]) == EPERM, name
    for flag in seccomp.CLONE_NAMESPACE_FLAGS:
        assert run_filter(program, 56, (flag | 0x11,)) == EPERM
    assert run_filter(program, 435) == ENOSYS  # clone3: glibc falls back to clone


def test_filter_refuses_other_abis(program: bytes) -> None:
    assert run_filter(program, 39, arch=0x40000003) == RET_KILL_PROCESS  # i386 (int 0x80)
    assert run_filter(program, 0x40000000 | 39) == EPERM  # x32


def test_every_denied_name_has_a_number() -> None:
    assert len(denied_numbers()) == len([n for n in seccomp.DENIED if X86_64[n] is not None])
    with pytest.raises(ValueError, match="no x86_64 number"):
        denied_numbers(("frobnicate",))


def test_the_cache_is_bound_read_write_only_when_the_spec_has_one() -> None:
    assert "/cache" not in bwrap_argv(spec(), Options(ROOT))
    argv = bwrap_argv(spec(cache=Path("/c/acme")), Options(ROOT))
    assert ("/c/acme", "/cache") in pairs(argv, "--bind")
    assert argv.index("/cache") < argv.index("--remount-ro")


def test_a_rootfs_cache_directory_is_never_bound_in_its_place(tmp_path: Path) -> None:
    for name in ("usr", "cache", "workspace"):
        (tmp_path / name).mkdir()
    assert [e.name for e in root_entries(tmp_path)] == ["usr"]

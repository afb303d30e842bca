"""The sandbox's root filesystem: a Debian tree built with debootstrap, or the host's own.

``RUNTIME_PACKAGES`` is the one list of what the sandbox offers; docker/runtime.Dockerfile
installs the same packages (tests/sandbox/test_rootfs.py checks). The build runs
``debootstrap --variant=minbase`` and then ``apt-get install`` inside the new tree: apt
resolves dependencies (virtual packages included) where debootstrap's ``--include`` does not
(npm's fail there). A marker file records what was built, so building again is a no-op.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

RUNTIME_PACKAGES = (
    "nodejs",
    "npm",
    "python3",
    "python3-venv",
    # pytest for the coder's own check of a change (a Python project's test deps are installed
    # only in the tester's workspace): without it, unittest found none of the test_ functions.
    "python3-pytest",
    "git",
    "ca-certificates",
    "make",
    "procps",
    "xz-utils",
)
DEFAULT_SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
SECURITY_MIRROR = "http://deb.debian.org/debian-security"
MARKER = ".bdg-rootfs.json"
STEP_TIMEOUT_S = 1800.0
CHROOT_ENV = ("PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C")


class RootfsError(RuntimeError):
    """The root filesystem could not be built."""


def default_rootfs() -> Path | None:
    """None, meaning no built tree: the backends bind the host's /usr, /etc... read-only."""
    return None


def rootfs_dir(state_dir: Path, suite: str = DEFAULT_SUITE) -> Path:
    """Where the daemon caches a built tree (under ``sandbox_state_dir``)."""
    return state_dir / "rootfs" / suite


def marker_data(suite: str, include: Sequence[str], mirror: str, variant: str) -> dict[str, object]:
    return {"suite": suite, "variant": variant, "mirror": mirror, "packages": sorted(include)}


def is_built(target: Path, data: dict[str, object]) -> bool:
    try:
        return bool(json.loads((target / MARKER).read_text()) == data)
    except (FileNotFoundError, json.JSONDecodeError):
        return False


def debootstrap_argv(
    target: Path,
    suite: str,
    mirror: str,
    variant: str = "minbase",
    exe: str = "debootstrap",
) -> list[str]:
    return [exe, f"--variant={variant}", suite, str(target), mirror]


def sources_list(suite: str, mirror: str) -> str:
    lines = [f"deb {mirror} {suite} main"]
    if suite not in ("sid", "unstable", "experimental"):
        lines += [
            f"deb {mirror} {suite}-updates main",
            f"deb {SECURITY_MIRROR} {suite}-security main",
        ]
    return "\n".join(lines) + "\n"


def chroot_argv(root: Path, *argv: str) -> list[str]:
    return ["chroot", str(root), "/usr/bin/env", "-i", *CHROOT_ENV, *argv]


def install_argv(root: Path, packages: Sequence[str]) -> list[str]:
    return chroot_argv(root, "apt-get", "install", "-y", "--no-install-recommends", *packages)


def build_rootfs(
    target: Path,
    suite: str = DEFAULT_SUITE,
    include: Sequence[str] = RUNTIME_PACKAGES,
    *,
    mirror: str = DEFAULT_MIRROR,
    variant: str = "minbase",
) -> Path:
    """Build (or keep, when its marker matches) a Debian tree at ``target``; needs root."""
    data = marker_data(suite, include, mirror, variant)
    if is_built(target, data):
        log.info("rootfs %s is already built", target)
        return target
    if os.geteuid() != 0:
        raise RootfsError("building a rootfs needs root (debootstrap, chroot)")
    exe = ensure_debootstrap()
    partial = target.with_name(f"{target.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    try:
        run(debootstrap_argv(partial, suite, mirror, variant, exe))
        (partial / "etc/apt/sources.list").write_text(sources_list(suite, mirror))
        if include:
            run(chroot_argv(partial, "apt-get", "update"))
            run(install_argv(partial, include))
            run(chroot_argv(partial, "apt-get", "clean"))
            shutil.rmtree(partial / "var/lib/apt/lists", ignore_errors=True)
            (partial / "var/lib/apt/lists/partial").mkdir(parents=True)
        (partial / "workspace").mkdir(exist_ok=True)  # the bind mount's target
        (partial / "cache").mkdir(exist_ok=True)  # the package cache's (Exec.cache)
        (partial / MARKER).write_text(json.dumps(data))
        old = target.with_name(f"{target.name}.old")
        if target.exists():
            target.rename(old)
        partial.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target


def print_debs(
    suite: str = DEFAULT_SUITE, mirror: str = DEFAULT_MIRROR, variant: str = "minbase"
) -> list[str]:
    """The packages debootstrap would install (downloads only the package lists)."""
    exe = ensure_debootstrap()
    with tempfile.TemporaryDirectory(prefix="bdg-debs-") as scratch:
        argv = debootstrap_argv(Path(scratch), suite, mirror, variant, exe)
        out = run([argv[0], "--print-debs", *argv[1:]])
    return out.split()


def ensure_debootstrap() -> str:
    """debootstrap's path, installing the Debian package first if it is missing."""
    found = shutil.which("debootstrap") or shutil.which("debootstrap", path="/usr/sbin")
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RootfsError("debootstrap is missing: apt-get install debootstrap (as root)")
    log.info("installing debootstrap with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if (
        subprocess.run(
            ["apt-get", "install", "-y", "debootstrap"],
            env=env,
            check=False,
            capture_output=True,
            timeout=STEP_TIMEOUT_S,
        ).returncode
        != 0
    ):
        run(["apt-get", "update"])
        run(["apt-get", "install", "-y", "debootstrap"])
    found = shutil.which("debootstrap") or shutil.which("debootstrap", path="/usr/sbin")
    if not found:
        raise RootfsError("apt-get installed debootstrap, but it is not on PATH")
    return found


def run(argv: list[str]) -> str:
    log.info("rootfs: %s", " ".join(argv))
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}
    try:
        done = subprocess.run(
            argv,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=STEP_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise RootfsError(f"{argv[0]} took over {STEP_TIMEOUT_S:.0f}s") from None
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
        raise RootfsError(f"{' '.join(argv[:4])} failed ({done.returncode}):\n" + "\n".join(tail))
    return done.stdout

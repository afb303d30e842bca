"""Each tenant's workspaces on a filesystem of their own, sized to the tenant's quota, so that a
write inside an exec stops at the quota (ENOSPC in the exec) instead of being noticed at the
next file operation (3.1 GB were once written against a 2 GiB quota).

The mechanism: a sparse ext4 image per tenant (``<root>/.disks/<tenant>.ext4``), loop-mounted
(nosuid, nodev, discard) on the tenant's directory ``<root>/<tenant>/``. Why this one:
- the backends need not know: runc and bubblewrap both bind-mount the workspace directory,
  which now lives on the tenant's filesystem, and the kernel enforces its size for both;
- it needs nothing from the host's filesystem (an XFS/ext4 project quota needs ``prjquota`` on
  the host's mount and ids managed per directory; a tmpfs would keep workspaces in memory and
  lose them at a restart);
- the host pays only for what is written: the image is sparse and ``discard`` gives freed
  blocks back.
The filesystem is grown until its room for files reaches the quota (ext4 keeps some for
itself), so the bound is the quota, not less. Sizing means mounting it to measure, unmounting,
then ``e2fsck`` and ``resize2fs``: that happens in a mount namespace of its own (``unshare``),
before the one mount the tenant gets. Done in the host's namespace, any container starting
meanwhile anywhere on the host copied the measuring mount into its new namespace, the unmount
here left the filesystem alive there, and ``e2fsck`` found it in use ("UNEXPECTED
INCONSISTENCY", once in CI). Online growing would avoid the unmount but needs CAP_SYS_RESOURCE,
which containers usually drop. For the same reason workspaces made before the images are copied
onto one by ``mkfs.ext4 -d`` at the tenant's first use, not through a staging mount (when they
do not fit, they stay where they are, unbounded, and the log says so). It needs root (mount,
loop devices). Without it, or with
``SANDBOX_DISK_LIMIT=none``, workspaces stay plain directories checked at each file operation
only: sandboxd logs that at start, and ``sandboxd doctor`` and the welcome's protections
(``disk_quota_during_exec``) say so. ``SANDBOX_DISK_LIMIT=loop`` refuses to start instead.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
TENANT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TOOLS = ("mount", "umount", "unshare", "mkfs.ext4", "e2fsck", "resize2fs")
MOUNT_OPTIONS = "loop,discard,nosuid,nodev,noatime"
SLACK = 1 << 20  # free space this close to the quota is close enough
GROW_ROUNDS = 4


class DiskLimitError(RuntimeError):
    """SANDBOX_DISK_LIMIT=loop, and this host cannot bound the workspaces' disk."""


@dataclass(frozen=True)
class DiskMode:
    bounded: bool
    reason: str


def probe(setting: str = "auto", euid: int | None = None) -> DiskMode:
    """Whether workspaces can be bounded during execs here; ``setting`` is auto, loop or none."""
    if setting == "none":
        return DiskMode(False, "SANDBOX_DISK_LIMIT=none: quota checked at file operations only")
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    why = ""
    if (os.geteuid() if euid is None else euid) != 0:
        why = "not root: loop mounts need root"
    elif missing:
        why = f"{', '.join(missing)} not found (Debian packages mount, e2fsprogs)"
    elif not Path("/dev/loop-control").exists():
        why = "no /dev/loop-control: loop devices are not available"
    if why:
        if setting == "loop":
            raise DiskLimitError(f"SANDBOX_DISK_LIMIT=loop, but {why}")
        return DiskMode(False, f"{why}; quota checked at file operations only")
    return DiskMode(True, "a loop-mounted ext4 image per tenant, sized to its quota")


class TenantDisks:
    def __init__(self, root: Path, quota_mb: int, mode: DiskMode) -> None:
        self.root, self.quota_bytes, self.mode = root, quota_mb << 20, mode
        self.mounted: set[Path] = set()
        self.left_unbounded: set[Path] = set()  # older workspaces that did not fit an image
        self._lock = threading.Lock()

    def ensure(self, tenant: str) -> None:
        """The tenant's filesystem mounted (made the first time). Synchronous: in a thread."""
        if not self.mode.bounded or not TENANT.match(tenant):
            return  # a bad tenant id is the workspace store's to refuse, with its message
        target = self.root / tenant
        with self._lock:
            if target in self.mounted or target in self.left_unbounded:
                return
            if os.path.ismount(target):  # left by a sandboxd that did not stop cleanly
                self.mounted.add(target)
                return
            image = self.root / ".disks" / f"{tenant}.ext4"
            if target.is_dir() and any(target.iterdir()):
                self._move_in(image, target)  # workspaces made before the images
                return
            self._mount(image, target)

    def unmount_all(self) -> None:
        with self._lock:
            for target in sorted(self.mounted):
                if _run("umount", str(target), check=False) != 0:
                    log.warning("%s is busy: detached lazily", target)
                    _run("umount", "-l", str(target), check=False)
            self.mounted.clear()

    def _move_in(self, image: Path, target: Path) -> None:
        """Copy a plain directory's workspaces onto a new image, then mount it in their place;
        when they do not fit (or anything fails), leave them as they were, unbounded, and say so."""
        try:
            self._make(image, source=target)
        except OSError as error:
            image.unlink(missing_ok=True)
            self.left_unbounded.add(target)
            log.error("tenant %s: workspaces left unbounded during execs: %s", target.name, error)
            return
        old = target.with_name(f".{target.name}.moved")
        target.rename(old)
        self._mount(image, target)
        shutil.rmtree(old)
        log.info("tenant %s: workspaces moved onto %s", target.name, image)

    def _make(self, image: Path, source: Path | None = None) -> None:
        image.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(image, "wb") as f:
            f.truncate(self.quota_bytes)  # sparse: the host pays for what is written
        populate = ("-d", str(source)) if source is not None else ()
        _run("mkfs.ext4", "-q", "-F", "-m", "0", "-E", "root_owner=0:0", *populate, str(image))

    def _mount(self, image: Path, target: Path) -> None:
        if not image.exists():
            self._make(image)
        # In a mount namespace of our own: no other namespace can copy the measuring mount.
        _run("unshare", "--mount", "--propagation", "private", sys.executable, "-m", __name__,
             str(image), str(self.quota_bytes))  # fmt: skip
        target.mkdir(mode=0o711, parents=True, exist_ok=True)
        _run("mount", "-t", "ext4", "-o", MOUNT_OPTIONS, str(image), str(target))
        self.mounted.add(target)
        os.chmod(target, 0o711)
        with contextlib.suppress(OSError):
            (target / "lost+found").rmdir()  # not a workspace (e2fsck makes it when needed)
        log.info("tenant %s: workspaces on %s (%d MiB)", target.name, image, _room(target) >> 20)


def size_image(image: Path, quota_bytes: int) -> None:
    """Grow the image until its room for files reaches the quota; run in a private namespace."""
    with tempfile.TemporaryDirectory(prefix="bdg-disk-") as scratch:
        for _round in range(GROW_ROUNDS):  # growing adds metadata too: a few rounds converge
            _run("mount", "-t", "ext4", "-o", MOUNT_OPTIONS, str(image), scratch)
            short = quota_bytes - _room(Path(scratch))
            _run("umount", scratch)
            if short <= SLACK:  # else ext4's own metadata, or a quota raised since: grow
                return
            with open(image, "r+b") as f:
                f.truncate(os.path.getsize(image) + short)
            _run("e2fsck", "-f", "-p", str(image), ok=(0, 1))  # 1: it fixed something
            _run("resize2fs", "-f", str(image))


def _room(path: Path) -> int:
    """Bytes files can fill: what is used plus what is free (a raised quota counts both)."""
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree + st.f_bavail) * st.f_frsize


def _run(*argv: str, check: bool = True, ok: tuple[int, ...] = (0,)) -> int:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if check and done.returncode not in ok:
        raise OSError(f"{' '.join(argv)} failed: {done.stderr.strip() or done.returncode}")
    return done.returncode


if __name__ == "__main__":  # what _mount runs under unshare: IMAGE QUOTA_BYTES
    size_image(Path(sys.argv[1]), int(sys.argv[2]))

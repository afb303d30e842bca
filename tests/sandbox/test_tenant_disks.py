"""Tenant disks (tenant_disks.py) with real loop mounts: made, sized, moved into, unmounted."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bdg_sandboxd.tenant_disks import TenantDisks, probe

pytestmark = pytest.mark.timeout(60)
QUOTA_MB = 32


@pytest.fixture
def root() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="bdg-disks-"))
    yield path
    with open("/proc/self/mountinfo") as mountinfo:  # what a failed test left mounted
        points = [line.split()[4] for line in mountinfo]
    for point in (p for p in points if p.startswith(f"{path}/")):
        subprocess.run(["umount", "-l", point], check=False)
    shutil.rmtree(path)


def disks(root: Path, quota_mb: int = QUOTA_MB) -> TenantDisks:
    mode = probe("auto")
    assert mode.bounded, mode.reason  # root with loop devices: every CI host
    return TenantDisks(root, quota_mb, mode)


def free_mb(path: Path) -> float:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize / 2**20


def test_a_tenant_gets_a_filesystem_with_its_quota_free(root: Path) -> None:
    store = disks(root)
    store.ensure("acme")
    assert os.path.ismount(root / "acme")
    assert QUOTA_MB - 1 <= free_mb(root / "acme") <= QUOTA_MB + 1
    assert list((root / "acme").iterdir()) == []  # no lost+found among the workspaces
    store.unmount_all()
    assert not os.path.ismount(root / "acme")


def test_a_raised_quota_grows_the_filesystem_and_keeps_its_files(root: Path) -> None:
    store = disks(root)
    store.ensure("acme")
    (root / "acme" / "ws").mkdir()
    (root / "acme" / "ws" / "kept").write_text("kept")
    store.unmount_all()
    bigger = disks(root, QUOTA_MB * 2)
    bigger.ensure("acme")
    assert (root / "acme" / "ws" / "kept").read_text() == "kept"
    assert free_mb(root / "acme") >= QUOTA_MB * 2 - 1
    bigger.unmount_all()


def test_workspaces_from_before_the_images_are_moved_onto_one(root: Path) -> None:
    legacy = root / "acme" / "ws"
    legacy.mkdir(parents=True)
    (legacy / "a.txt").write_text("a")
    os.symlink("a.txt", legacy / "link")
    store = disks(root)
    store.ensure("acme")
    assert os.path.ismount(root / "acme")
    assert (root / "acme" / "ws" / "a.txt").read_text() == "a"
    assert os.readlink(root / "acme" / "ws" / "link") == "a.txt"
    assert sorted(p.name for p in root.iterdir()) == [".disks", "acme"]  # nothing left aside
    store.unmount_all()


def test_workspaces_too_big_for_the_quota_stay_where_they_are_unbounded(root: Path) -> None:
    legacy = root / "acme" / "ws"
    legacy.mkdir(parents=True)
    (legacy / "big").write_bytes(b"x" * ((QUOTA_MB + 8) << 20))
    store = disks(root)
    store.ensure("acme")
    assert not os.path.ismount(root / "acme")
    assert (legacy / "big").stat().st_size == (QUOTA_MB + 8) << 20
    assert not (root / ".disks" / "acme.ext4").exists()
    assert root / "acme" in store.left_unbounded


def test_sizing_survives_containers_starting_all_the_while(root: Path) -> None:
    """A mount namespace made while a filesystem is mounted (any container starting, anywhere
    on the host) keeps it alive after an unmount here: sizing it with mount, unmount, e2fsck in
    the host's namespace then failed ("UNEXPECTED INCONSISTENCY", once in CI). Here namespaces
    are made as fast as this machine can while tenants get their filesystems."""
    tenants = [f"t{n}" for n in range(6)]
    store = disks(root)
    done = threading.Event()
    holders: list[subprocess.Popen[bytes]] = []

    def keep_copying() -> None:
        while not done.is_set():
            holders.append(
                subprocess.Popen(
                    ["unshare", "--mount", "--propagation", "private", "cat"],
                    stdin=subprocess.PIPE,
                )
            )

    copier = threading.Thread(target=keep_copying)
    copier.start()
    try:
        for tenant in tenants:
            store.ensure(tenant)
    finally:
        done.set()
        copier.join()
        for holder in holders:
            assert holder.stdin is not None
            holder.stdin.close()
        for holder in holders:
            holder.wait(10)
    assert len(holders) > len(tenants)  # namespaces were made while they were sized
    for tenant in tenants:
        assert QUOTA_MB - 1 <= free_mb(root / tenant) <= QUOTA_MB + 1
    store.unmount_all()
    for tenant in tenants:
        image = root / ".disks" / f"{tenant}.ext4"
        check = subprocess.run(["e2fsck", "-f", "-n", str(image)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr

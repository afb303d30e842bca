"""The host's cgroups as the runc backend needs them: which layout, what a run's cgroup recorded,
and what a run left behind.

Layouts: ``v1`` (controllers each mounted under /sys/fs/cgroup/<name>), ``hybrid`` (v1 plus an
empty cgroup2 tree, usually at /sys/fs/cgroup/unified) and ``v2`` (one tree at /sys/fs/cgroup).
runc puts a container's cgroup at the same ``cgroupsPath`` below every mounted hierarchy.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Layout = Literal["v1", "hybrid", "v2"]
MOUNTINFO = Path("/proc/self/mountinfo")
_NOT_CONTROLLERS = {
    "rw",
    "ro",
    "noprefix",
    "clone_children",
    "xattr",
    "cpuset_v2_mode",
    "favordynmods",
}


@dataclass(frozen=True)
class Hierarchies:
    """Mount points: ``v1`` maps each controller to its tree; ``unified`` is the cgroup2 tree."""

    v1: dict[str, Path]
    unified: Path | None

    @property
    def layout(self) -> Layout:
        if not self.v1:
            return "v2"
        return "hybrid" if self.unified is not None else "v1"

    def controllers(self) -> set[str]:
        if self.layout != "v2":
            return {name for name in self.v1 if not name.startswith("name=")}
        assert self.unified is not None
        with contextlib.suppress(OSError):
            return set((self.unified / "cgroup.controllers").read_text().split())
        return set()

    def trees(self) -> list[Path]:
        """Every mounted hierarchy (without duplicates when controllers share a tree)."""
        trees = sorted(set(self.v1.values()))
        return [*trees, self.unified] if self.unified is not None else trees

    def memory_dir(self, cgroups_path: str) -> Path | None:
        root = self.v1.get("memory") if self.layout != "v2" else self.unified
        return root / cgroups_path.lstrip("/") if root is not None else None


def parse_mountinfo(text: str) -> Hierarchies:
    v1: dict[str, Path] = {}
    unified: Path | None = None
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        mount_point = Path(fields[4].replace("\\040", " "))
        if tail[0] == "cgroup2":
            unified = mount_point
        elif tail[0] == "cgroup":
            for option in tail[2].split(","):
                if option not in _NOT_CONTROLLERS and not option.startswith("release_agent="):
                    v1.setdefault(option, mount_point)
    return Hierarchies(v1, unified)


def hierarchies() -> Hierarchies:
    return parse_mountinfo(MOUNTINFO.read_text())


@dataclass(frozen=True)
class MemoryRecord:
    oom_kills: int
    peak_bytes: int | None
    limit_bytes: int | None

    def at_limit(self, slack: float = 0.9) -> bool:
        return bool(
            self.peak_bytes and self.limit_bytes and self.peak_bytes >= self.limit_bytes * slack
        )


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return None if text in ("", "max") else int(text)


def _read_keyed(path: Path, key: str) -> int | None:
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    return None


def memory_record(tree: Hierarchies, cgroups_path: str) -> MemoryRecord | None:
    """What the run's memory cgroup recorded; read it before the cgroup is deleted."""
    directory = tree.memory_dir(cgroups_path)
    if directory is None or not directory.is_dir():
        return None
    if tree.layout == "v2":
        return MemoryRecord(
            oom_kills=_read_keyed(directory / "memory.events", "oom_kill") or 0,
            peak_bytes=_read_int(directory / "memory.peak"),
            limit_bytes=_read_int(directory / "memory.max"),
        )
    return MemoryRecord(
        oom_kills=_read_keyed(directory / "memory.oom_control", "oom_kill") or 0,
        peak_bytes=_read_int(directory / "memory.max_usage_in_bytes"),
        limit_bytes=_read_int(directory / "memory.limit_in_bytes"),
    )


def leftovers(tree: Hierarchies, cgroups_path: str) -> list[Path]:
    """The run's cgroup directories still present in any hierarchy."""
    relative = cgroups_path.lstrip("/")
    return [root / relative for root in tree.trees() if (root / relative).is_dir()]


def _pids(directory: Path) -> list[int]:
    with contextlib.suppress(OSError):
        return [int(pid) for pid in (directory / "cgroup.procs").read_text().split()]
    return []


def kill_and_remove(tree: Hierarchies, cgroups_path: str) -> list[Path]:
    """Last resort after runc failed to clean up: SIGKILL what is left, remove the directories.

    Returns the directories that could not be removed (still busy)."""
    stuck: list[Path] = []
    for directory in leftovers(tree, cgroups_path):
        for pid in _pids(directory):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        try:
            directory.rmdir()
        except OSError:
            stuck.append(directory)
    return stuck

"""Safe path resolution inside a workspace, on real files and symlinks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bdg_sandboxd.paths import MAX_DEPTH, WorkspaceError, list_tree, resolve, scan, split

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "src/pkg").mkdir(parents=True)
    (root / "src/pkg/a.py").write_text("a = 1\n")
    (root / "README").write_text("hi\n")
    (root / "docs").symlink_to("src/pkg")  # inside: fine
    (root / "up").symlink_to("../..")  # leads above the root
    (root / "etc").symlink_to("/etc")  # absolute
    (root / "loop").symlink_to("loop")
    (tmp_path / "secret").write_text("outside\n")
    (root / "leak").symlink_to("../secret")
    return root


@pytest.mark.parametrize(
    ("path", "parts"),
    [(".", []), ("", []), ("a/./b//c", ["a", "b", "c"]), ("a/", ["a"]), ("./x", ["x"])],
)
def test_split_normalizes(path: str, parts: list[str]) -> None:
    assert split(path) == parts


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/etc/passwd", "absolute"),
        ("../x", "'..'"),
        ("a/../../x", "'..'"),
        ("a\0b", "NUL"),
        ("src/" + "n" * 256, "path: a name of 256 bytes, over 255 bytes"),
        ("é" * 128, "a name of 256 bytes"),
    ],
)
def test_split_refuses(path: str, why: str) -> None:
    with pytest.raises(WorkspaceError, match=why) as e:
        split(path)
    assert e.value.code == "invalid"


def test_follows_symlinks_that_stay_inside(tree: Path) -> None:
    with resolve(tree, "docs/a.py", follow_last=True) as r:
        assert r.name == "a.py"
        assert r.path == "src/pkg/a.py"
        assert os.read(os.open(r.name, os.O_RDONLY, dir_fd=r.parent), 10) == b"a = 1\n"


@pytest.mark.parametrize("path", ["up/x", "etc/passwd", "leak", "up", "etc"])
def test_refuses_symlinks_that_leave(tree: Path, path: str) -> None:
    with pytest.raises(WorkspaceError) as e, resolve(tree, path, follow_last=True):
        pass
    assert e.value.code == "invalid"


def test_symlink_loop_is_refused(tree: Path) -> None:
    with (
        pytest.raises(WorkspaceError, match="too many symlinks"),
        resolve(tree, "loop", follow_last=True),
    ):
        pass


def test_last_component_not_followed_when_asked(tree: Path) -> None:
    with resolve(tree, "etc", follow_last=False) as r:
        assert r.name == "etc"  # the link itself, in the root
        assert r.path == "etc"


def test_missing_intermediate_is_not_found_unless_created(tree: Path) -> None:
    with pytest.raises(WorkspaceError) as e, resolve(tree, "new/dir/f", follow_last=False):
        pass
    assert e.value.code == "not_found"
    with resolve(tree, "new/dir/f", follow_last=False, create_parents=True) as r:
        assert r.path == "new/dir/f"
    assert (tree / "new/dir").is_dir()


def test_creating_parents_never_goes_through_an_outside_symlink(tree: Path) -> None:
    with (
        pytest.raises(WorkspaceError),
        resolve(tree, "etc/bdg-test/f", follow_last=False, create_parents=True),
    ):
        pass
    assert not Path("/etc/bdg-test").exists()


def test_file_in_the_middle_is_invalid(tree: Path) -> None:
    with (
        pytest.raises(WorkspaceError, match="not a directory"),
        resolve(tree, "README/x", follow_last=True),
    ):
        pass


def test_scan_counts_regular_files_once_and_never_follows_links(tree: Path) -> None:
    os.link(tree / "README", tree / "README.hard")
    assert scan(tree) == len("a = 1\n") + len("hi\n")


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_scan_chowns_to_the_owner_without_touching_link_targets(tree: Path) -> None:
    scan(tree, (65534, 65534))
    for p in [tree, tree / "src/pkg/a.py", tree / "src"]:
        assert (p.stat().st_uid, p.stat().st_gid) == (65534, 65534)
    assert os.lstat(tree / "etc").st_uid == 65534
    assert Path("/etc").stat().st_uid == 0
    assert (tree.parent / "secret").stat().st_uid == 0


def test_list_tree_skips_git_and_lists_links_as_files(tree: Path) -> None:
    (tree / ".git/objects").mkdir(parents=True)
    fd = os.open(tree, os.O_RDONLY | os.O_DIRECTORY)
    try:
        entries = {e.path: e for e in list_tree(fd, "")}
    finally:
        os.close(fd)
    assert set(entries) == {
        "README",
        "docs",
        "etc",
        "leak",
        "loop",
        "src",
        "src/pkg",
        "src/pkg/a.py",
        "up",
    }
    assert entries["src"].is_dir
    assert not entries["docs"].is_dir
    assert entries["src/pkg/a.py"].size == 6


def test_nesting_beyond_the_limit_is_refused(tmp_path: Path) -> None:
    deep = tmp_path / "ws"
    deep.mkdir()
    fd = os.open(deep, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(MAX_DEPTH + 1):
            os.mkdir("d", dir_fd=fd)
            sub = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = sub
    finally:
        os.close(fd)
    with pytest.raises(WorkspaceError, match="nested deeper"):
        scan(deep)

"""ws.copy on real files: a tree from one workspace of a tenant into another, links as links."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bdg_contracts.sandbox import Source
from bdg_sandboxd.workspaces import WorkspaceError, Workspaces
from tests.sandbox.test_workspaces import MB, T, leftovers, tree_hash, wid

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def ws(tmp_path: Path) -> Workspaces:
    return Workspaces(tmp_path / "state", quota_mb_per_tenant=2)


def installed(ws: Workspaces) -> tuple[str, Path]:
    """A workspace holding what an npm install leaves, and a few things a copy must not follow."""
    w = wid()
    ws.create(T, w, Source(), [])
    tree = ws.path_of(T, w)
    pkg = tree / "node_modules" / "left-pad"
    pkg.mkdir(parents=True)
    (pkg / "index.js").write_text("module.exports = 1\n")
    (pkg / "cli.js").write_text("#!/usr/bin/env node\n")
    (pkg / "cli.js").chmod(0o4755)  # set-uid: dropped by the copy
    os.utime(pkg / "index.js", ns=(1_000_000_000, 1_000_000_000))
    (tree / "node_modules" / ".bin").mkdir()
    (tree / "node_modules" / ".bin" / "left-pad").symlink_to("../left-pad/cli.js")
    (tree / "node_modules" / "passwd").symlink_to("/etc/passwd")  # copied as a link, unread
    os.mkfifo(tree / "node_modules" / "pipe")  # reading it would block: left out
    return w, tree


def test_a_tree_is_copied_with_links_modes_and_times_and_no_fifo(ws: Workspaces) -> None:
    source, tree = installed(ws)
    w = wid()
    ws.create(T, w, Source(), [])
    ws.copy(T, w, source, "node_modules")
    copy = ws.path_of(T, w) / "node_modules"
    assert not (copy / "pipe").exists()
    os.unlink(tree / "node_modules" / "pipe")
    (tree / "node_modules" / "left-pad" / "cli.js").chmod(0o755)  # the copy has no set-uid
    assert tree_hash(copy) == tree_hash(tree / "node_modules")
    assert os.readlink(copy / "passwd") == "/etc/passwd"
    assert os.readlink(copy / ".bin" / "left-pad") == "../left-pad/cli.js"
    assert stat.S_IMODE(os.stat(copy / "left-pad" / "cli.js").st_mode) == 0o755
    assert os.stat(copy / "left-pad" / "index.js").st_mtime_ns == 1_000_000_000
    assert ws.read(T, w, "node_modules/.bin/left-pad") == b"#!/usr/bin/env node\n"
    with pytest.raises(WorkspaceError, match="outside"):
        ws.read(T, w, "node_modules/passwd")
    if os.geteuid() == 0:  # the sandbox user owns the copy as everything else in a workspace
        owners = {(p.lstat().st_uid, p.lstat().st_gid) for p in [copy, *copy.rglob("*")]}
        assert owners == {(65534, 65534)}
    (copy / "left-pad" / "index.js").write_text("changed\n")  # a copy, not a link to the source
    assert (tree / "node_modules" / "left-pad" / "index.js").read_text() == "module.exports = 1\n"
    assert ws.manifest(T, w).edited


def test_a_copy_makes_missing_parents_and_copies_a_single_file(ws: Workspaces) -> None:
    source, _ = installed(ws)
    w = wid()
    ws.create(T, w, Source(), [])
    ws.copy(T, w, source, "node_modules/left-pad/index.js")
    assert ws.read(T, w, "node_modules/left-pad/index.js") == b"module.exports = 1\n"
    assert [e.path for e in ws.list(T, w)] == [
        "node_modules",
        "node_modules/left-pad",
        "node_modules/left-pad/index.js",
    ]


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("node_modules", "conflict"),  # there already
        ("nothing", "not_found"),
        ("../x", "invalid"),
        ("/etc", "invalid"),
        ("out/passwd", "invalid"),  # through a link that leads out of the workspace
    ],
)
def test_what_cannot_be_copied_is_refused_and_leaves_nothing(
    ws: Workspaces, path: str, code: str
) -> None:
    source, tree = installed(ws)
    (tree / "out").symlink_to("/etc")
    w = wid()
    ws.create(T, w, Source(), [])
    ws.write(T, w, "node_modules/mine.js", b"x")
    before = tree_hash(ws.path_of(T, w))
    with pytest.raises(WorkspaceError) as e:
        ws.copy(T, w, source, path)
    assert e.value.code == code
    assert tree_hash(ws.path_of(T, w)) == before
    assert not list(ws.path_of(T, w).rglob(".bdg-copy-*"))


def test_a_copy_into_itself_or_from_nowhere_is_refused(ws: Workspaces) -> None:
    source, _ = installed(ws)
    with pytest.raises(WorkspaceError) as e:
        ws.copy(T, source, source, "node_modules")
    assert e.value.code == "invalid"
    with pytest.raises(WorkspaceError) as e:
        ws.copy(T, source, "no-such-ws", "node_modules")
    assert e.value.code == "not_found"
    with pytest.raises(WorkspaceError) as e:  # another tenant's workspace of the same name
        ws.copy("other", source, source, "node_modules")
    assert e.value.code == "not_found"


def test_a_copy_over_the_quota_is_refused_before_it_writes(ws: Workspaces) -> None:
    source, tree = installed(ws)
    (tree / "node_modules" / "big").write_bytes(b"x" * MB)
    w = wid()
    ws.create(T, w, Source(), [])
    with pytest.raises(WorkspaceError) as e:
        ws.copy(T, w, source, "node_modules")
    assert e.value.code == "quota"
    assert [x.path for x in ws.list(T, w)] == []
    assert ".bdg-copy" not in " ".join(leftovers(ws.root))

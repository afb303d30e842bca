"""Workspaces on real files and real git: create, patch, edit, quota, rebuild elsewhere."""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
import subprocess
from pathlib import Path

import pytest

from bdg_contracts.sandbox import Source
from bdg_sandboxd.patches import PatchError
from bdg_sandboxd.workspaces import WorkspaceError, Workspaces

pytestmark = pytest.mark.timeout(60)
T = "acme"
MB = 1024 * 1024


def sh_git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@x",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@x",
    }
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout.strip()


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    sh_git(repo, "add", "-A")
    sh_git(repo, "commit", "-q", "-m", message)
    return sh_git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str, str]:
    """A repository with two commits: (path, first, second)."""
    path = tmp_path / "origin"
    path.mkdir()
    sh_git(path, "init", "-q", "-b", "main")
    first = commit(path, {"app.js": "console.log(1)\n", "lib/util.py": "X = 1\n"}, "one")
    second = commit(path, {"app.js": "console.log(2)\n"}, "two")
    return path, first, second


@pytest.fixture
def ws(tmp_path: Path) -> Workspaces:
    return Workspaces(tmp_path / "state", quota_mb_per_tenant=2)


def wid() -> str:
    return f"ws-{secrets.token_hex(4)}"


def tree_hash(root: Path) -> str:
    """Names, modes, contents and link targets of everything but ``.git``."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        found += [Path(dirpath) / n for n in dirnames + filenames]
    h = hashlib.sha256()
    for p in sorted(found):
        h.update(str(p.relative_to(root)).encode() + b"\0")
        if p.is_symlink():
            h.update(b"L" + os.readlink(p).encode())
        elif p.is_dir():
            h.update(b"D")
        else:
            h.update(oct(p.stat().st_mode).encode() + p.read_bytes())
    return h.hexdigest()


def diff(path: str, old: str, new: str) -> str:
    """A one-line change of an existing file ``path``."""
    return f"--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n-{old}\n+{new}\n"


def new_file(path: str, text: str, lines: int = 1) -> str:
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n"
        f"+++ b/{path}\n@@ -0,0 +1,{lines} @@\n" + f"+{text}\n" * lines
    )


def leftovers(state: Path) -> list[str]:
    return (
        [p.name for p in (state / T).iterdir() if not p.name.startswith(".")]
        + [p.name for p in (state / T / ".staging").iterdir()]
        + [p.name for p in (state / T / ".manifests").glob("*")]
    )


# -- create --------------------------------------------------------------------------------------
def test_empty_workspace(ws: Workspaces) -> None:
    w = wid()
    assert ws.create(T, w, Source(), []) == ""
    assert ws.list(T, w) == []
    assert ws.path_of(T, w) == ws.root / T / w


def test_clone_at_an_older_commit_is_shallow_and_detached(
    ws: Workspaces, repo: tuple[Path, str, str]
) -> None:
    path, first, _ = repo
    w = wid()
    assert ws.create(T, w, Source(repo=str(path), commit=first), []) == first
    tree = ws.path_of(T, w)
    assert ws.read(T, w, "app.js") == b"console.log(1)\n"
    assert sh_git(tree, "-c", "safe.directory=*", "rev-parse", "HEAD") == first
    assert (tree / ".git/shallow").read_text().strip() == first
    assert (
        subprocess.run(
            ["git", "-c", "safe.directory=*", "symbolic-ref", "-q", "HEAD"],
            cwd=tree,
            check=False,
            timeout=30,
        ).returncode
        == 1
    )  # detached
    assert {e.path for e in ws.list(T, w)} == {"app.js", "lib", "lib/util.py"}


def test_clone_by_url_and_by_abbreviated_hash(ws: Workspaces, repo: tuple[Path, str, str]) -> None:
    path, first, second = repo
    assert ws.create(T, wid(), Source(repo=f"file://{path}"), []) == second
    assert ws.create(T, wid(), Source(repo=str(path), commit=first[:8]), []) == first
    assert ws.create(T, wid(), Source(repo=str(path), commit="main"), []) == second


def test_unknown_commit_and_missing_source(ws: Workspaces, repo: tuple[Path, str, str]) -> None:
    path, _, _ = repo
    with pytest.raises(WorkspaceError) as e:
        ws.create(T, wid(), Source(repo=str(path), commit="0" * 40), [])
    assert e.value.code == "not_found"
    with pytest.raises(WorkspaceError) as e:
        ws.create(T, wid(), Source(repo=str(path / "nope")), [])
    assert e.value.code == "not_found"
    for bad in [
        Source(repo="relative/dir"),
        Source(repo=str(path), commit="--upload-pack=x"),
        Source(repo="ext::sh -c touch% /tmp/pwned"),
    ]:
        with pytest.raises(WorkspaceError) as e:
            ws.create(T, wid(), bad, [])
        assert e.value.code == "invalid"
    assert leftovers(ws.root) == []


def test_only_the_top_of_a_work_tree_is_a_source(
    ws: Workspaces, tmp_path: Path, repo: tuple[Path, str, str]
) -> None:
    path, _, _ = repo
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "f.txt").write_text("x\n")
    for given in [plain, path / "lib", f"file://{path / 'lib'}"]:
        with pytest.raises(WorkspaceError, match="not the top of a git work tree"):
            ws.create(T, wid(), Source(repo=str(given)), [])
    assert leftovers(ws.root) == []


def test_the_state_dirs_are_never_sources_even_under_a_root(
    tmp_path: Path, repo: tuple[Path, str, str]
) -> None:
    """BDG_HOME listed as a source root: its database, bus and index stay out all the same;
    its demo-repos folder (the demo's example) and other roots stay in."""
    path, _, _ = repo
    home = tmp_path / "home"
    for name in ("pg", "nats", "index/acme/0001", "demo-repos/example"):
        (home / name).mkdir(parents=True)
        sh_git(home / name, "init", "-q", "-b", "main")
        commit(home / name, {"secret.txt": "s\n"}, "s")
    (tmp_path / "link").symlink_to(home / "pg")
    fenced = Workspaces(
        tmp_path / "sandbox" / "workspaces",
        2,
        source_roots=[home, tmp_path],
        state_dirs=[home, tmp_path / "sandbox"],
        state_exceptions=[home / "demo-repos"],
    )
    for given in [home / "pg", home / "nats", home / "index/acme/0001", tmp_path / "link"]:
        for spelled in [str(given), f"file://{given}"]:
            with pytest.raises(WorkspaceError, match="in a state dir"):
                fenced.create(T, wid(), Source(repo=spelled), [])
    assert fenced.create(T, wid(), Source(repo=str(home / "demo-repos/example")), [])
    assert fenced.create(T, wid(), Source(repo=str(path)), [])


def test_a_worktree_whose_git_dir_is_in_the_state_is_refused(
    tmp_path: Path, repo: tuple[Path, str, str]
) -> None:
    path, _, _ = repo
    home = tmp_path / "home"
    (home / "pg").mkdir(parents=True)
    sh_git(home / "pg", "init", "-q", "-b", "main")
    commit(home / "pg", {"secret.txt": "s\n"}, "s")
    sh_git(path, "worktree", "add", "-q", str(tmp_path / "wt"), "main~1")
    fenced = Workspaces(tmp_path / "s", 2, source_roots=[tmp_path], state_dirs=[home])
    assert fenced.create(T, wid(), Source(repo=str(tmp_path / "wt")), [])  # a worktree is fine
    (tmp_path / "wt" / ".git").write_text(f"gitdir: {home / 'pg' / '.git'}\n")  # forged
    fenced = Workspaces(tmp_path / "s", 2, source_roots=[tmp_path], state_dirs=[home])
    with pytest.raises(WorkspaceError, match=r"git directory .* in a state dir"):
        fenced.create(T, wid(), Source(repo=str(tmp_path / "wt")), [])


def test_source_roots_bound_local_sources(tmp_path: Path, repo: tuple[Path, str, str]) -> None:
    path, _, _ = repo
    fenced = Workspaces(tmp_path / "s2", 2, source_roots=[tmp_path / "elsewhere"])
    for given in [str(path), f"file://{path}", f"file://{path}/../origin"]:
        with pytest.raises(WorkspaceError, match="outside the allowed source roots"):
            fenced.create(T, wid(), Source(repo=given), [])


def test_another_workspace_is_never_a_source(ws: Workspaces, repo: tuple[Path, str, str]) -> None:
    path, _, _ = repo
    theirs = wid()
    ws.create("other-tenant", theirs, Source(repo=str(path)), [])
    their_tree = ws.path_of("other-tenant", theirs)
    for given in [str(their_tree), f"file://{their_tree}", str(ws.root / "other-tenant")]:
        with pytest.raises(WorkspaceError, match="inside the workspaces' own directory"):
            ws.create(T, wid(), Source(repo=given), [])
    with pytest.raises(WorkspaceError, match="names a host"):
        ws.create(T, wid(), Source(repo="file://example.com/srv/repo"), [])


def test_patches_apply_in_order(ws: Workspaces, repo: tuple[Path, str, str]) -> None:
    path, first, _ = repo
    w = wid()
    patches = [
        diff("app.js", "console.log(1)", "console.log(10)"),
        diff("app.js", "console.log(10)", "console.log(11)"),
        new_file("lib/new.py", "Y = 2"),
    ]
    assert ws.create(T, w, Source(repo=str(path), commit=first), patches) == first
    assert ws.read(T, w, "app.js") == b"console.log(11)\n"
    assert ws.read(T, w, "lib/new.py") == b"Y = 2\n"


def test_bad_patch_names_its_index_and_leaves_nothing(
    ws: Workspaces, repo: tuple[Path, str, str]
) -> None:
    path, first, _ = repo
    w = wid()
    patches = [
        diff("app.js", "console.log(1)", "console.log(10)"),
        diff("app.js", "console.log(999)", "console.log(0)"),
    ]
    with pytest.raises(PatchError) as e:
        ws.create(T, w, Source(repo=str(path), commit=first), patches)
    assert e.value.index == 1
    assert e.value.code == "invalid"
    assert "patch 1 does not apply" in str(e.value)
    assert "app.js" in str(e.value)  # git's own message
    assert leftovers(ws.root) == []
    with pytest.raises(PatchError, match="patch 0"):
        ws.create(T, w, Source(), ["this is not a diff\n"])
    assert leftovers(ws.root) == []


def test_recreate_is_idempotent_and_a_different_one_conflicts(
    ws: Workspaces, repo: tuple[Path, str, str]
) -> None:
    path, first, second = repo
    w = wid()
    patches = [new_file("notes.md", "n")]
    assert ws.create(T, w, Source(repo=str(path), commit=first), patches) == first
    ws.write(T, w, "scratch.txt", b"kept")
    assert ws.create(T, w, Source(repo=str(path), commit=first), patches) == first
    assert ws.read(T, w, "scratch.txt") == b"kept"  # a no-op: nothing rebuilt
    for other in [
        (Source(repo=str(path), commit=second), patches),
        (Source(repo=str(path), commit=first), []),
    ]:
        with pytest.raises(WorkspaceError) as e:
            ws.create(T, w, *other)
        assert e.value.code == "conflict"


@pytest.mark.parametrize("bad", ["..", ".", ".manifests", "a/b", ""])
def test_bad_ids_are_invalid(ws: Workspaces, bad: str) -> None:
    with pytest.raises(WorkspaceError) as e:
        ws.create(T, bad, Source(), [])
    assert e.value.code == "invalid"
    with pytest.raises(WorkspaceError) as e:
        ws.create(bad or "x/y", "w", Source(), [])
    assert e.value.code == "invalid"


# -- apply ---------------------------------------------------------------------------------------
def test_apply_is_all_or_nothing(ws: Workspaces, repo: tuple[Path, str, str]) -> None:
    path, first, _ = repo
    w = wid()
    ws.create(T, w, Source(repo=str(path), commit=first), [])
    before = tree_hash(ws.path_of(T, w))
    with pytest.raises(PatchError) as e:
        ws.apply(T, w, [new_file("a.txt", "a"), diff("app.js", "nope", "x")])
    assert e.value.index == 1
    assert tree_hash(ws.path_of(T, w)) == before
    ws.apply(T, w, [new_file("a.txt", "a"), diff("a.txt", "a", "b")])
    assert ws.read(T, w, "a.txt") == b"b\n"


@pytest.mark.parametrize("target", ["../escape.txt", ".git/hooks/post-checkout", "out/x.txt"])
def test_patches_cannot_leave_the_tree(ws: Workspaces, tmp_path: Path, target: str) -> None:
    w = wid()
    ws.create(T, w, Source(), [])
    (ws.path_of(T, w) / ".git").mkdir()
    (ws.path_of(T, w) / "out").symlink_to(tmp_path)
    with pytest.raises(PatchError):
        ws.apply(T, w, [new_file(target, "pwned")])
    assert not (tmp_path / "x.txt").exists()
    assert not (ws.root / T / "escape.txt").exists()
    assert not (ws.path_of(T, w) / ".git/hooks").exists()


def test_apply_ignores_the_workspace_git_config(
    ws: Workspaces, repo: tuple[Path, str, str], tmp_path: Path
) -> None:
    path, _, _ = repo
    w = wid()
    ws.create(T, w, Source(repo=str(path)), [])
    marker = tmp_path / "ran"
    config = ws.path_of(T, w) / ".git/config"
    config.write_text(config.read_text() + f"[core]\n\tfsmonitor = touch {marker}\n")
    ws.apply(T, w, [new_file("n.txt", "n")])
    assert not marker.exists()


# -- files ---------------------------------------------------------------------------------------
def test_write_read_list_delete(ws: Workspaces) -> None:
    w = wid()
    ws.create(T, w, Source(), [])
    ws.write(T, w, "src/deep/mod.py", b"print(1)\n")
    ws.write(T, w, "./top.txt", b"t")
    assert ws.read(T, w, "src/deep/mod.py") == b"print(1)\n"
    assert [(e.path, e.size, e.is_dir) for e in ws.list(T, w)] == [
        ("src", 0, True),
        ("src/deep", 0, True),
        ("src/deep/mod.py", 9, False),
        ("top.txt", 1, False),
    ]
    assert [e.path for e in ws.list(T, w, "src/deep")] == ["src/deep/mod.py"]
    assert [e.path for e in ws.list(T, w, "top.txt")] == ["top.txt"]
    ws.delete(T, w, "src")
    assert [e.path for e in ws.list(T, w)] == ["top.txt"]
    with pytest.raises(WorkspaceError) as e:
        ws.read(T, w, "src/deep/mod.py")
    assert e.value.code == "not_found"
    with pytest.raises(WorkspaceError) as e:
        ws.delete(T, w, "nothing")
    assert e.value.code == "not_found"
    with pytest.raises(WorkspaceError) as e:
        ws.read(T, "no-such-ws", "x")
    assert e.value.code == "not_found"


def test_write_keeps_the_mode_of_the_file_it_replaces(ws: Workspaces) -> None:
    w = wid()
    ws.create(T, w, Source(), [])
    ws.write(T, w, "run.sh", b"#!/bin/sh\n")
    (ws.path_of(T, w) / "run.sh").chmod(0o755)
    ws.write(T, w, "run.sh", b"#!/bin/sh\necho\n")
    assert stat.S_IMODE(os.stat(ws.path_of(T, w) / "run.sh").st_mode) == 0o755


@pytest.mark.parametrize("path", ["/etc/passwd", "../x", "a/../../x", "nul\0byte"])
def test_bad_paths_are_invalid(ws: Workspaces, path: str) -> None:
    w = wid()
    ws.create(T, w, Source(), [])
    for op in (
        lambda: ws.write(T, w, path, b"x"),
        lambda: ws.read(T, w, path),
        lambda: ws.delete(T, w, path),
        lambda: ws.list(T, w, path),
    ):
        with pytest.raises(WorkspaceError) as e:
            op()
        assert e.value.code == "invalid"


def test_symlinks_never_lead_out(ws: Workspaces, tmp_path: Path) -> None:
    w = wid()
    ws.create(T, w, Source(), [])
    tree = ws.path_of(T, w)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("s")
    (tree / "dir").symlink_to(outside)
    (tree / "file").symlink_to(outside / "secret")
    (tree / "rel").symlink_to("../../../outside/secret")
    (tree / "ok").symlink_to("real.txt")
    ws.write(T, w, "real.txt", b"r")
    for path in ["dir/secret", "file", "rel"]:
        with pytest.raises(WorkspaceError, match="outside"):
            ws.read(T, w, path)
    with pytest.raises(WorkspaceError):
        ws.write(T, w, "dir/new", b"x")
    assert ws.read(T, w, "ok") == b"r"
    ws.write(T, w, "file", b"replaced")  # replaces the link itself
    assert (outside / "secret").read_text() == "s"
    assert not (tree / "file").is_symlink()
    ws.delete(T, w, "dir")  # removes the link, not what it points to
    assert (outside / "secret").exists()
    with pytest.raises(WorkspaceError):
        ws.delete(T, w, "ok/x")


def test_reading_a_fifo_does_not_hang(ws: Workspaces) -> None:
    w = wid()
    ws.create(T, w, Source(), [])
    os.mkfifo(ws.path_of(T, w) / "pipe")
    with pytest.raises(WorkspaceError, match="not a regular file"):
        ws.read(T, w, "pipe")


# -- quota ---------------------------------------------------------------------------------------
def test_quota_on_writes_counts_every_workspace_of_the_tenant(ws: Workspaces) -> None:
    a, b = wid(), wid()
    ws.create(T, a, Source(), [])
    ws.create(T, b, Source(), [])
    ws.write(T, a, "big", b"x" * MB)
    with pytest.raises(WorkspaceError) as e:
        ws.write(T, b, "big", b"x" * (MB + MB // 2))
    assert e.value.code == "quota"
    assert [x.path for x in ws.list(T, b)] == []
    ws.write(T, a, "big", b"y" * (MB + MB // 2))  # replacing: only the difference counts
    ws.create("other", a, Source(), [])
    ws.write("other", a, "big", b"x" * MB)  # another tenant has its own quota


def test_quota_on_create_and_apply_rolls_back(ws: Workspaces, tmp_path: Path) -> None:
    src = tmp_path / "huge"
    src.mkdir()
    sh_git(src, "init", "-q", "-b", "main")
    commit(src, {"blob": "x" * 3 * MB}, "huge")
    with pytest.raises(WorkspaceError) as e:
        ws.create(T, wid(), Source(repo=str(src)), [])
    assert e.value.code == "quota"
    assert leftovers(ws.root) == []
    w = wid()
    ws.create(T, w, Source(), [])
    before = tree_hash(ws.path_of(T, w))
    with pytest.raises(WorkspaceError) as e:
        ws.apply(T, w, [new_file("small.txt", "s"), new_file("big.txt", "y" * 1000, 2500)])
    assert e.value.code == "quota"
    assert tree_hash(ws.path_of(T, w)) == before


# -- ownership, manifest, rebuild, drop ----------------------------------------------------------
@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_the_sandbox_user_owns_the_tree(ws: Workspaces, repo: tuple[Path, str, str]) -> None:
    path, _, _ = repo
    w = wid()
    ws.create(T, w, Source(repo=str(path)), [])
    ws.write(T, w, "new/dir/f", b"f")
    ws.apply(T, w, [new_file("p.txt", "p")])
    tree = ws.path_of(T, w)
    owners = {(p.lstat().st_uid, p.lstat().st_gid) for p in [tree, *tree.rglob("*")]}
    assert owners == {(65534, 65534)}
    assert (ws.root / T / ".manifests").stat().st_uid == 0


def test_rebuild_elsewhere_gives_the_same_tree(
    ws: Workspaces, repo: tuple[Path, str, str], tmp_path: Path
) -> None:
    path, first, _ = repo
    w = wid()
    ws.create(
        T,
        w,
        Source(repo=str(path), commit="HEAD~1"),
        [diff("app.js", "console.log(1)", "console.log(5)")],
    )
    ws.apply(T, w, [new_file("added.txt", "a")])
    m = ws.manifest(T, w)
    assert (m.commit, m.requested_commit, len(m.patches), m.edited) == (first, "HEAD~1", 2, False)
    assert not any(".manifests" in e.path or e.path.endswith(".json") for e in ws.list(T, w))
    commit(path, {"app.js": "moved on\n"}, "three")  # HEAD~1 now means another commit
    other = Workspaces(tmp_path / "host2", 2)
    assert ws.rebuild(T, w, other) == first
    assert tree_hash(other.path_of(T, w)) == tree_hash(ws.path_of(T, w))
    ws.write(T, w, "edited", b"e")
    assert ws.manifest(T, w).edited


def test_drop_removes_tree_and_manifest(ws: Workspaces) -> None:
    w = wid()
    ws.create(T, w, Source(), [new_file("a", "a")])
    assert ws.drop(T, w)
    assert not ws.drop(T, w)
    assert leftovers(ws.root) == []
    with pytest.raises(WorkspaceError) as e:
        ws.path_of(T, w)
    assert e.value.code == "not_found"
    assert ws.create(T, w, Source(), []) == ""  # the id is free again

"""The default deploy step on real git repositories: the job's change as a branch ``bdg/<job>``,
the same commit on every delivery, and nothing of a hostile repository's own run or followed."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from bdg_deployer.domain import ChangeSet, DeployTask, branch_name
from bdg_deployer.git_branch import GitBranchDeployer, clone_path
from bdg_deployer.git_refs import RepositoryError
from bdg_deployer.git_scratch import BOT_EMAIL, BOT_NAME
from tests.git_repos import commit, git, make_repo

pytestmark = pytest.mark.timeout(60)

APPROVED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ADD_B = (
    "diff --git a/b.txt b/b.txt\nnew file mode 100644\n--- /dev/null\n+++ b/b.txt\n"
    "@@ -0,0 +1 @@\n+bee\n"
)
EDIT_A = "diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-one\n+two\n"


def task(repo: str, base_commit: str = "", *patches: str, job: UUID | None = None) -> DeployTask:
    change = ChangeSet(repo, "main", base_commit, patches or (ADD_B, EDIT_A), ("b.txt", "a.txt"))
    return DeployTask(
        job or uuid4(), "acme", "Add b and change a", change=change, approved_at=APPROVED
    )


@pytest.fixture(name="repo")
def repo_fixture(tmp_path: Path) -> Path:
    make_repo(tmp_path / "repo", {"a.txt": "one\n", "README.md": "hi\n"})
    return tmp_path / "repo"


async def test_the_change_becomes_a_branch_on_the_pinned_base(repo: Path, tmp_path: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    commit(repo, {"a.txt": "moved on\n"}, "main moves on after the job pinned its base")
    deployer = GitBranchDeployer(tmp_path / "clones")
    t = task(str(repo), base)

    release = await deployer.prepare(t)
    branch = branch_name(t.job_id)
    assert release.target == f"branch {branch} in {repo}"
    assert "2 patch(es)" in release.preview
    assert "b.txt, a.txt" in release.preview

    done = await deployer.deploy(t)
    assert done.branch is not None
    assert (done.branch.repository, done.branch.branch) == (str(repo), branch)
    sha = done.branch.commit
    assert done.url == f"file://{repo}#{branch}"
    assert git(repo, "rev-parse", branch) == sha
    assert git(repo, "rev-parse", f"{branch}^") == base
    assert git(repo, "show", f"{branch}:a.txt") == "two"
    assert git(repo, "show", f"{branch}:b.txt") == "bee"
    assert git(repo, "log", "-1", "--format=%an <%ae> %at", branch) == (
        f"{BOT_NAME} <{BOT_EMAIL}> {int(APPROVED.timestamp())}"
    )
    assert git(repo, "fsck", "--strict") == ""
    # The user's checkout is untouched: same branch, same files, nothing staged.
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert git(repo, "status", "--porcelain") == ""
    assert (repo / "a.txt").read_text() == "moved on\n"


async def test_a_redelivery_finds_the_same_commit_and_writes_nothing(
    repo: Path, tmp_path: Path
) -> None:
    deployer = GitBranchDeployer(tmp_path / "clones")
    t = task(str(repo))  # no pinned base: the job's base ref, resolved now
    first = await deployer.deploy(t)
    objects = sorted(p.name for p in (repo / ".git" / "objects").rglob("*") if p.is_file())
    again = await deployer.deploy(t)
    assert again == first
    assert sorted(p.name for p in (repo / ".git" / "objects").rglob("*") if p.is_file()) == objects
    assert first.branch is not None
    assert git(repo, "rev-list", "--count", f"main..{first.branch.branch}") == "1"


async def test_a_branch_of_that_name_elsewhere_is_left_alone(repo: Path, tmp_path: Path) -> None:
    t = task(str(repo))
    git(repo, "branch", branch_name(t.job_id))
    with pytest.raises(RepositoryError, match="already exists"):
        await GitBranchDeployer(tmp_path / "clones").deploy(t)
    assert git(repo, "rev-parse", branch_name(t.job_id)) == git(repo, "rev-parse", "main")


async def test_nothing_of_a_hostile_repository_runs(repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    script = tmp_path / "evil.sh"
    script.write_text(f'#!/bin/sh\necho "$0 $*" >> {marker}\ncat >/dev/null\nexit 0\n')
    script.chmod(0o755)
    hooks = repo / ".git" / "hooks"
    for hook in ("reference-transaction", "post-commit", "pre-commit", "post-checkout",
                 "post-index-change", "pre-auto-gc"):  # fmt: skip
        (hooks / hook).write_text(script.read_text())
        (hooks / hook).chmod(0o755)
    for key, value in (
        ("core.hooksPath", str(hooks)),
        ("core.fsmonitor", str(script)),
        ("commit.gpgSign", "true"),
        ("gpg.program", str(script)),
        ("i18n.commitEncoding", "ISO-8859-1"),
        ("user.name", "Mallory"),
    ):
        git(repo, "config", key, value)
    done = await GitBranchDeployer(tmp_path / "clones").deploy(task(str(repo)))
    assert not marker.exists(), marker.read_text()
    assert done.branch is not None
    shown = git(repo, "log", "-1", "--format=%an %G? %e", done.branch.branch)
    assert shown == f"{BOT_NAME} N"  # ours: no signature, no encoding header


async def test_a_symbolic_link_out_of_the_repository_is_refused(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / ".git" / "refs" / "heads" / "bdg").symlink_to(outside)
    with pytest.raises(RepositoryError, match="not a plain directory"):
        await GitBranchDeployer(tmp_path / "clones").deploy(task(str(repo)))
    assert list(outside.iterdir()) == []


async def test_a_patch_through_a_symbolic_link_is_refused(repo: Path, tmp_path: Path) -> None:
    link = (
        "diff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n+++ b/l\n@@ -0,0 +1 @@\n"
        "+/etc\n\\ No newline at end of file\n"
    )
    through = (
        "diff --git a/l/x b/l/x\nnew file mode 100644\n--- /dev/null\n+++ b/l/x\n"
        "@@ -0,0 +1 @@\n+x\n"
    )
    t = task(str(repo), "", link, through)
    with pytest.raises(RepositoryError, match="patch 1 of the job does not apply"):
        await GitBranchDeployer(tmp_path / "clones").deploy(t)
    assert git(repo, "branch", "--list", "bdg/*") == ""


async def test_a_clone_url_gets_its_branch_in_the_deployers_clone(
    repo: Path, tmp_path: Path
) -> None:
    url = f"file://{repo}"
    deployer = GitBranchDeployer(tmp_path / "clones")
    t = task(url, git(repo, "rev-parse", "HEAD"))
    clone = clone_path(tmp_path / "clones", "acme", url)
    assert (await deployer.prepare(t)).target.endswith(f"{clone} (the deployer's clone of {url})")
    done = await deployer.deploy(t)
    assert done.branch is not None
    assert done.branch.repository == str(clone)
    assert git(clone, "show", f"{done.branch.branch}:b.txt") == "bee"
    assert git(repo, "branch", "--list", "bdg/*") == ""  # the source is not written


async def test_refs_that_git_would_read_as_options_are_refused(repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    deployer = GitBranchDeployer(tmp_path / "clones")
    evil_ref = ChangeSet(f"file://{repo}", f"--upload-pack=touch {marker}", "", (ADD_B,))
    with pytest.raises(RepositoryError, match="bad base ref"):
        await deployer.deploy(DeployTask(uuid4(), "acme", "g", change=evil_ref))
    evil_base = ChangeSet(str(repo), "main", "--index-output=/tmp/x", (ADD_B,))
    with pytest.raises(RepositoryError, match="is no commit id"):
        await deployer.deploy(DeployTask(uuid4(), "acme", "g", change=evil_base))
    assert not marker.exists()


async def test_a_rollback_removes_the_branch_it_delivered(repo: Path, tmp_path: Path) -> None:
    deployer = GitBranchDeployer(tmp_path / "clones")
    t = task(str(repo))
    done = await deployer.deploy(t)
    assert done.branch is not None
    rolled = DeployTask(t.job_id, t.tenant_id, t.goal, done.url, t.change, delivered=done.branch)
    assert await deployer.roll_back(rolled) == ""
    assert git(repo, "branch", "--list", "bdg/*") == ""


async def test_a_job_without_a_repository_gets_one_of_its_own(tmp_path: Path) -> None:
    deployer = GitBranchDeployer(tmp_path / "clones")
    t = task("", "", ADD_B)
    own = tmp_path / "clones" / "acme" / f"job-{t.job_id.hex}.git"
    release = await deployer.prepare(t)
    assert (
        release.target
        == f"branch {branch_name(t.job_id)} in {own} (a new repository: the job named none)"
    )
    assert "1 patch(es) on an empty tree" in release.preview
    done = await deployer.deploy(t)
    assert done.branch is not None
    assert done.branch.repository == str(own)
    assert git(own, "show", f"{done.branch.branch}:b.txt") == "bee"
    assert git(own, "rev-list", "--count", done.branch.branch) == "1"
    assert await deployer.deploy(t) == done  # again: the same commit


async def test_a_plain_directory_is_refused_clearly(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    deployer = GitBranchDeployer(tmp_path / "clones")
    with pytest.raises(RepositoryError, match="is not a git repository"):
        await deployer.prepare(task(str(plain)))  # before anyone is asked to approve
    with pytest.raises(RepositoryError, match="is not a git repository"):
        await deployer.deploy(task(str(plain)))
    assert os.listdir(plain) == []

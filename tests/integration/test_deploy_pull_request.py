"""An approved job's branch pushed to its repository's git host and a pull request opened: a
real git smart-HTTP remote (``git http-backend``, tests/git_http.py) that lets pushes in only
with the token, and the local git host answering GitHub's and Gitea's documented pull-request
endpoints (tests/git_host_pulls.py names the sections), which reads the pushed branches."""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from uuid import uuid4

import pytest
from pydantic import SecretStr

from bdg_deployer.domain import ChangeSet, DeployTask, branch_name
from bdg_deployer.git_branch import GitBranchDeployer
from bdg_deployer.pull_requests.hosts import (
    GitHost,
    GitHosts,
    GitHostsError,
    HostRefusedError,
    load_hosts,
)
from tests.git_host_api import GitHost as HostServer
from tests.git_host_api import git_host
from tests.git_http import SmartServer, smart_serving
from tests.git_repos import GIT_ENV, git, make_repo

pytestmark = pytest.mark.timeout(60)
TOKEN = "ghp_" + secrets.token_hex(12)
APPROVED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ADD_B = (
    "diff --git a/b.txt b/b.txt\nnew file mode 100644\n--- /dev/null\n+++ b/b.txt\n"
    "@@ -0,0 +1 @@\n+bee\n"
)
PLAN = "## Plan\n- add b.txt with the word bee\n- nothing else changes"
Kind = Literal["github", "gitea", "gitlab"]
APIS = {"github": "github_api", "gitea": "gitea_api", "gitlab": "gitlab_api"}
PAGES = {"github": "pull/1", "gitea": "pulls/1", "gitlab": "-/merge_requests/1"}


@dataclass
class Rig:
    root: Path  # <owner>/<repo>.git under it, served by ``git``
    git: SmartServer
    api: HostServer
    base: str  # main's commit

    @property
    def remote(self) -> Path:
        return self.root / "acme" / "app.git"

    def url(self) -> str:
        return f"{self.git.url}/acme/app.git"

    def hosts(self, kind: Kind, token: str = TOKEN) -> GitHosts:
        api = getattr(self.api, APIS[kind])
        host = GitHost(
            kind=kind,
            web_url=self.git.url,
            api_url=api,
            token=SecretStr(token),  # type: ignore[arg-type]
        )
        return GitHosts(tenants={"acme": [host]})

    def task(self, base_ref: str = "main", repo: str = "") -> DeployTask:
        change = ChangeSet(
            repo or self.url(), base_ref, self.base, (ADD_B,), ("b.txt",), "Adds b.txt.", PLAN
        )
        return DeployTask(uuid4(), "acme", "Add b", change=change, approved_at=APPROVED)


@pytest.fixture(name="rig")
def rig_fixture(tmp_path: Path) -> Iterator[Rig]:
    base = make_repo(tmp_path / "work", {"a.txt": "one\n"})
    root = tmp_path / "served"
    (root / "acme").mkdir(parents=True)
    git(tmp_path, "clone", "-q", "--bare", str(tmp_path / "work"), str(root / "acme" / "app.git"))
    with (
        smart_serving(root, "x-access-token", TOKEN) as server,
        git_host(TOKEN, set(), {"acme/app": "main"}, root) as api,
    ):
        yield Rig(root, server, api, base)


@pytest.mark.parametrize("kind", ["github", "gitea", "gitlab"])
async def test_the_branch_is_pushed_and_its_pull_request_opened(rig: Rig, kind: Kind) -> None:
    deployer = GitBranchDeployer(rig.root.parent / "clones", rig.hosts(kind))
    task = rig.task()
    release = await deployer.prepare(task)
    asked = "merge" if kind == "gitlab" else "pull"
    assert f"pushed to {rig.url()} with a {kind} {asked} request" in release.target

    done = await deployer.deploy(task)
    branch = branch_name(task.job_id)
    assert done.branch is not None
    assert git(rig.remote, "rev-parse", f"refs/heads/{branch}") == done.branch.commit
    assert git(rig.remote, "show", f"{branch}:b.txt") == "bee"
    [pull] = rig.api.pulls
    assert (pull.provider, pull.head, pull.base, pull.title) == (kind, branch, "main", "Add b")
    assert pull.body.startswith(PLAN)
    assert "Adds b.txt." in pull.body
    assert str(task.job_id) in pull.body
    assert done.url == f"{rig.api.url}/acme/app/{PAGES[kind]}"
    assert done.branch.pull_request == done.url
    assert rig.git.pushes == ["x-access-token"]
    _, _, headers = rig.api.requests[-1]
    if kind == "github":
        assert headers["authorization"] == f"Bearer {TOKEN}"
        assert headers["accept"] == "application/vnd.github+json"
        assert headers["x-github-api-version"] == "2022-11-28"
    elif kind == "gitea":
        assert headers["authorization"] == f"token {TOKEN}"
    else:
        assert headers["private-token"] == TOKEN


def readable_anonymously(url: str) -> bool:
    env = {**GIT_ENV, "GIT_TERMINAL_PROMPT": "0"}
    done = subprocess.run(["git", "ls-remote", url], env=env, capture_output=True, check=False)
    return done.returncode == 0


async def test_a_private_repository_is_fetched_with_the_hosts_token(
    rig: Rig, tmp_path: Path
) -> None:
    """The deployer's clone is empty: the job's base is fetched with the same credentials."""
    with smart_serving(rig.root, "x-access-token", TOKEN, private=True) as private:
        assert not readable_anonymously(f"{private.url}/acme/app.git")
        rig.git = private
        deployer = GitBranchDeployer(tmp_path / "clones", rig.hosts("github"))
        done = await deployer.deploy(rig.task())
    assert done.branch is not None
    assert done.branch.pull_request
    assert git(rig.remote, "rev-parse", done.branch.branch) == done.branch.commit


@pytest.mark.parametrize("kind", ["github", "gitea", "gitlab"])
async def test_a_redelivery_finds_the_open_pull_request(rig: Rig, kind: Kind) -> None:
    """The host answers 422 (GitHub) or 409 (Gitea, GitLab) for a second request of the branch:
    the open one is found and named again, nothing new is opened."""
    deployer = GitBranchDeployer(rig.root.parent / "clones", rig.hosts(kind))
    task = rig.task()
    first = await deployer.deploy(task)
    again = await deployer.deploy(task)
    assert again.url == first.url
    assert len(rig.api.pulls) == 1
    listed = [path for method, path, _ in rig.api.requests if method == "GET"]
    assert any(path.split("?")[0].endswith(("/pulls", "/merge_requests")) for path in listed)


@pytest.mark.parametrize("kind", ["github", "gitlab"])
async def test_the_default_branch_is_the_base_when_the_job_named_none(rig: Rig, kind: Kind) -> None:
    git(rig.remote, "branch", "-m", "main", "trunk")
    rig.api.repos["acme/app"] = "trunk"
    deployer = GitBranchDeployer(rig.root.parent / "clones", rig.hosts(kind))
    await deployer.deploy(rig.task(base_ref="HEAD"))
    assert rig.api.pulls[0].base == "trunk"


async def test_a_refused_push_fails_fast_and_opens_nothing(rig: Rig) -> None:
    deployer = GitBranchDeployer(rig.root.parent / "clones", rig.hosts("github", "ghp_wrong"))
    task = rig.task()
    with pytest.raises(HostRefusedError, match="was refused"):
        await deployer.deploy(task)
    assert rig.git.refused >= 1
    assert rig.git.pushes == []
    assert "bdg/" not in git(rig.remote, "branch", "--list")
    assert rig.api.pulls == []
    assert rig.api.requests == []


@pytest.mark.parametrize(("kind", "status"), [("github", 403), ("gitea", 503), ("gitlab", 429)])
async def test_a_rate_limit_or_503_is_waited_out(rig: Rig, kind: Kind, status: int) -> None:
    """GitHub's secondary rate limit is a 403 with ``retry-after``: retried, not a refusal."""
    rig.api.throttle = [(status, "0"), (status, "0")]
    deployer = GitBranchDeployer(rig.root.parent / "clones", rig.hosts(kind))
    done = await deployer.deploy(rig.task())
    assert done.branch is not None
    assert done.branch.pull_request
    assert len(rig.api.pulls) == 1
    assert [h.get("throttled") for _, _, h in rig.api.requests[:2]] == [str(status)] * 2


@pytest.mark.parametrize(
    ("kind", "said"),
    [("github", "github 401 on POST /pulls: Bad credentials"),
     ("gitlab", "gitlab 401 on POST /merge_requests: 401 Unauthorized")],
)  # fmt: skip
async def test_an_api_401_fails_fast_with_the_hosts_message(
    rig: Rig, tmp_path: Path, kind: Kind, said: str
) -> None:
    """The push is let in, the API refuses the token."""
    with git_host("other-" + TOKEN, set(), {"acme/app": "main"}, rig.root) as api:
        rig.api = api
        deployer = GitBranchDeployer(tmp_path / "clones", rig.hosts(kind))
        with pytest.raises(HostRefusedError, match=said):
            await deployer.deploy(rig.task())
        assert api.pulls == []
        assert len(api.requests) == 1  # no retry of a refusal


@pytest.mark.parametrize(
    "tail", ["acme/app.git\n", "acme/app.git?x=1", "acme/app/extra.git", "acme/..", "acme"]
)
def test_only_owner_and_repository_under_the_host_match(rig: Rig, tail: str) -> None:
    hosts = rig.hosts("github")
    assert hosts.repo_of("acme", f"{rig.git.url}/{tail}") is None
    assert hosts.repo_of("acme", f"{rig.git.url}.evil.example/acme/app.git") is None
    found = hosts.repo_of("acme", f"{rig.git.url}/acme/app.git")
    assert found is not None
    assert (found.owner, found.name) == ("acme", "app")


async def test_a_url_under_no_configured_host_is_not_pushed(rig: Rig, tmp_path: Path) -> None:
    """Another tenant's hosts, or a host no one configured: the token goes nowhere."""
    hosts = GitHosts(tenants={"other": rig.hosts("github").tenants["acme"]})
    deployer = GitBranchDeployer(tmp_path / "clones", hosts)
    done = await deployer.deploy(rig.task())
    assert done.url.startswith("file://")
    assert done.branch is not None
    assert done.branch.pull_request == ""
    assert rig.git.pushes == []
    assert rig.api.requests == []


def entry(**fields: str) -> dict[str, list[dict[str, str]]]:
    good = {"kind": "github", "web_url": "https://g", "api_url": "https://g", "token": "t"}
    return {"acme": [{**good, **fields}]}


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (entry(kind="bitbucket"), "acme.0.kind"),
        (entry(token=""), "acme.0.token"),
        (entry(web_url="nope"), "acme.0.web_url"),
        (entry(username="u" * 101), "acme.0.username"),
    ],
)
def test_a_bad_hosts_file_is_refused_naming_the_field(
    tmp_path: Path, content: object, field: str
) -> None:
    path = tmp_path / "hosts.json"
    path.write_text(json.dumps(content))
    with pytest.raises(GitHostsError, match=f"hosts.json: {field}:"):
        load_hosts(str(path))
    assert load_hosts("") == GitHosts()


def test_a_token_is_never_shown() -> None:
    hosts = GitHosts.model_validate(
        {"tenants": {"a": [{"kind": "github", "web_url": "https://g", "api_url": "https://g",
                            "token": TOKEN}]}}
    )  # fmt: skip
    assert TOKEN not in repr(hosts)
    assert TOKEN not in str(hosts.tenants["a"][0])

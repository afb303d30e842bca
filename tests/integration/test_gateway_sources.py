"""Who may name which repository, through the API over a real PostgreSQL and NATS (issue 11
finding 1, issue 12 finding 2): ``POST /jobs``, fork and ``POST /index/repos`` answer 422
naming the rule, with nothing written, for the state dir, another tenant's root, a folder below
a work tree's top, ``file://`` and option-looking values, clone URLs to internal hosts; a
granted work tree's top works."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from bdg_contracts.clone_dns import addresses_of
from bdg_contracts.clone_hosts import is_public
from bdg_contracts.ids import new_job_id
from bdg_gateway.app import create_app
from bdg_jobs.domain import Cause, Job
from bdg_jobs.sources import load_rules, write_grants
from bdg_jobs.user_commands import JobCommands
from bdg_runtime.redrive import Redriver
from tests.gateway_stack import Keys, Stack, new_tenant

pytestmark = pytest.mark.timeout(60)


def git_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True, timeout=30)
    return path


@dataclass
class Place:
    """BDG_HOME with the database, bus and index as git repositories (so only the state rule
    can refuse them), tenant A's root (which lists BDG_HOME too) and tenant B's."""

    home: Path
    ours: Path
    theirs: Path
    a: str
    b: str


@pytest.fixture
def place(tmp_path: Path) -> Place:
    home = tmp_path / "home"
    for name in ("pg", "nats", "index/acme/0001", "demo-repos/example"):
        git_repo(home / name)
    ours, theirs = git_repo(tmp_path / "a" / "app"), git_repo(tmp_path / "b" / "app")
    (ours / "src").mkdir()
    (tmp_path / "a" / "plain").mkdir()
    (tmp_path / "a" / "link").symlink_to(theirs)
    a, b = new_tenant(), new_tenant()
    write_grants(
        home / "source-grants.json", {a: [tmp_path / "a", home], b: [tmp_path / "b"]}
    )  # as `bdg up` writes it, for two tenants
    return Place(home, ours, theirs, a, b)


@pytest.fixture
async def client(stack: Stack, keys: Keys, place: Place) -> AsyncIterator[httpx.AsyncClient]:
    rules = load_rules(place.home, None)
    commands = JobCommands(stack.app, Redriver(stack.store, stack.nc.jetstream()), sources=rules)
    gateway = create_app(commands, stack.queries, stack.nc, keys.authenticator())
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        yield http


def refused(place: Place) -> list[tuple[str, str]]:
    tmp = place.home.parent
    return [
        (str(place.home / "pg"), "in the state dir"),
        (str(place.home / "nats"), "in the state dir"),
        (str(place.home / "index/acme/0001"), "in the state dir"),
        (str(place.home), "in the state dir"),
        (str(place.ours / "src"), "not the top of a git work tree"),
        (str(tmp / "a" / "plain"), "not the top of a git work tree"),
        (str(tmp / "a" / "missing"), "no such directory"),
        ("/etc", "outside the roots granted"),
        (str(place.theirs), "outside the roots granted"),
        (str(tmp / "a" / "link"), "outside the roots granted"),
        ("app", "must be an absolute path"),
        (f"file://{place.ours}", "file:// URLs are refused"),
        ("--upload-pack=touch /tmp/pwned", "cannot start with '-'"),
        ("ssh://-oProxyCommand=touch%20x/repo", "names no host"),
        ("ext::sh", "transport::address"),
        ("https://host/x\x01", "control characters"),  # NUL: the edge's own rule
    ]


@pytest.mark.parametrize("route", ["/jobs", "/index/repos"])
async def test_repositories_outside_the_rules_are_422_and_nothing_is_written(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, place: Place, route: str
) -> None:
    before = stack.event_count()
    for repo, words in refused(place):
        body = {"goal": "read it", "repo": repo} if route == "/jobs" else {"repo": repo}
        answer = await client.post(route, json=body, headers=keys.headers(place.a))
        assert answer.status_code == 422, (repo, answer.text)
        detail = answer.json()["detail"]
        assert detail.startswith("body.repo: "), detail
        assert words in detail, (repo, detail)
        assert answer.json()["errors"][0]["loc"] == ["body", "repo"]
    assert stack.event_count() == before


async def test_a_granted_work_tree_top_works_and_is_stored_resolved(
    client: httpx.AsyncClient, keys: Keys, place: Place
) -> None:
    spelled = f"{place.ours.parent}/../a/app/"
    for repo in [spelled, str(place.home / "demo-repos/example"), "https://git.example/x"]:
        created = await client.post(
            "/jobs", json={"goal": "g", "repo": repo}, headers=keys.headers(place.a)
        )
        assert created.status_code == 201, created.text
    job = await client.get(created.headers["Location"], headers=keys.headers(place.a))
    assert job.status_code == 200
    registered = await client.post(
        "/index/repos", json={"repo": spelled}, headers=keys.headers(place.a)
    )
    assert registered.status_code == 201, registered.text
    assert registered.json()["repo"] == str(place.ours.resolve())
    # The other tenant's root is theirs alone, and ours is not theirs.
    mine = await client.post(
        "/jobs", json={"goal": "g", "repo": str(place.theirs)}, headers=keys.headers(place.b)
    )
    assert mine.status_code == 201, mine.text
    not_theirs = await client.post(
        "/jobs", json={"goal": "g", "repo": str(place.ours)}, headers=keys.headers(place.b)
    )
    assert not_theirs.status_code == 422


async def test_the_stored_repo_is_the_resolved_path(
    stack: Stack, client: httpx.AsyncClient, keys: Keys, place: Place
) -> None:
    link = place.home.parent / "a" / "again"
    link.symlink_to(place.ours)
    created = await client.post(
        "/jobs", json={"goal": "g", "repo": str(link)}, headers=keys.headers(place.a)
    )
    assert created.status_code == 201, created.text
    assert created.json()["repo"] == str(place.ours.resolve())
    job = await stack.job(UUID(created.json()["id"]))
    assert job.repo == str(place.ours.resolve())


async def test_forking_a_job_whose_repository_is_not_granted_is_422(
    stack: Stack, client: httpx.AsyncClient, keys: Keys, place: Place
) -> None:
    """A job recorded before the rules (or before a grant was withdrawn) forks into nothing."""
    cause = Cause(producer="user:alice", occurred_at=datetime.now(UTC))
    job = Job.request(new_job_id(), place.a, cause, goal="g", repo=str(place.home / "pg"))
    await stack.app.start(job)
    before = stack.event_count()
    fork = await client.post(
        f"/jobs/{job.job_id}/fork", json={"at_version": 1}, headers=keys.headers(place.a)
    )
    assert fork.status_code == 422, fork.text
    assert "in the state dir" in fork.json()["detail"]
    assert stack.event_count() == before


def internal_urls() -> list[str]:
    """Clone URLs to this machine, the metadata service and the LAN, in every spelling; and
    this host's own name, which only a lookup shows to be internal."""
    return [
        "http://127.0.0.1:5432/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/repo.git",
        "http://10.0.0.5/repo.git",
        "http://2130706433/",
        "http://0177.0.0.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://localhost:4222/",
        "git@10.0.0.5:acme/app.git",
        f"https://{socket.gethostname()}:5432/app.git",
    ]


@pytest.mark.parametrize("route", ["/jobs", "/index/repos"])
async def test_clone_urls_to_internal_hosts_are_422_and_nothing_is_written(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, place: Place, route: str
) -> None:
    assert not is_public(addresses_of(socket.gethostname())[0])  # this host's name is internal
    before = stack.event_count()
    for repo in internal_urls():
        body = {"goal": "read it", "repo": repo} if route == "/jobs" else {"repo": repo}
        answer = await client.post(route, json=body, headers=keys.headers(place.a))
        assert answer.status_code == 422, (repo, answer.text)
        detail = answer.json()["detail"]
        assert detail.startswith("body.repo: the clone URL's host "), detail
        assert "BDG_CLONE_ALLOW_HOSTS" in detail, detail
    assert stack.event_count() == before


async def test_forking_a_job_whose_clone_url_is_internal_is_422(
    stack: Stack, client: httpx.AsyncClient, keys: Keys, place: Place
) -> None:
    cause = Cause(producer="user:alice", occurred_at=datetime.now(UTC))
    job = Job.request(new_job_id(), place.a, cause, goal="g", repo="http://169.254.169.254/")
    await stack.app.start(job)
    before = stack.event_count()
    fork = await client.post(
        f"/jobs/{job.job_id}/fork", json={"at_version": 1}, headers=keys.headers(place.a)
    )
    assert fork.status_code == 422, fork.text
    assert "internal address" in fork.json()["detail"]
    assert stack.event_count() == before


async def test_internal_hosts_the_operator_allows_are_accepted(
    stack: Stack, keys: Keys, place: Place
) -> None:
    grants = place.home / "source-grants.json"
    body = json.loads(grants.read_text())
    body[place.b] = {"roots": body[place.b], "clone_hosts": [socket.gethostname()]}
    grants.write_text(json.dumps(body))  # tenant B alone may reach this host by its name
    rules = load_rules(place.home, None, (), "localhost, 10.0.0.0/8")
    commands = JobCommands(stack.app, Redriver(stack.store, stack.nc.jetstream()), sources=rules)
    gateway = create_app(commands, stack.queries, stack.nc, keys.authenticator())
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        for repo in ["http://localhost:3000/acme/app.git", "git@10.0.0.5:acme/app.git"]:
            body = {"goal": "g", "repo": repo}
            created = await http.post("/jobs", json=body, headers=keys.headers(place.a))
            assert created.status_code == 201, created.text
            assert created.json()["repo"] == repo
        refused = await http.post(
            "/jobs", json={"goal": "g", "repo": "http://127.0.0.2/"}, headers=keys.headers(place.a)
        )
        assert refused.status_code == 422, refused.text
        by_name = {"goal": "g", "repo": f"https://{socket.gethostname()}/app.git"}
        mine = await http.post("/jobs", json=by_name, headers=keys.headers(place.b))
        assert mine.status_code == 201, mine.text
        not_theirs = await http.post("/jobs", json=by_name, headers=keys.headers(place.a))
        assert not_theirs.status_code == 422, not_theirs.text

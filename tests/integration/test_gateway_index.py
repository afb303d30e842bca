"""The index API in-process (ASGI) over a real PostgreSQL and NATS: register, list, get (one
tenant's), and search's refusals (no indexer, bad parameters); searches answered by the real
indexer are in tests/e2e/test_gateway_search.py."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID, uuid4

import httpx
import psycopg
import pytest

from bdg_contracts import index_events as ix
from tests.gateway_stack import Keys, Stack, new_tenant

pytestmark = pytest.mark.timeout(60)
STATUS_FIELDS = {
    "id", "repo", "state", "phase", "done", "total", "files", "chunks", "commit", "errors",
    "registered_at", "updated_at",
}  # fmt: skip


def url() -> str:
    return f"https://git.example.com/{new_tenant()}/app.git"


async def register(
    client: httpx.AsyncClient, keys: Keys, tenant: str, repo: str, **body: Any
) -> httpx.Response:
    return await client.post(
        "/index/repos", json={"repo": repo, **body}, headers=keys.headers(tenant)
    )


def write_status(stack: Stack, repo_id: UUID, tenant: str, **row: Any) -> None:
    """A row as the indexer writes it while it works."""
    values = {"state": "indexing", "phase": "embedding", "done": 3, "total": 10, **row}
    values["errors"] = json.dumps(values.get("errors", []))
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO bdg_index_status (repo_id, tenant, repo, state, phase, commit, files,"
            " chunks, done, total, errors) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (repo_id, tenant, "r", values["state"], values["phase"], values.get("commit"),
             values.get("files", 0), values.get("chunks", 0), values["done"], values["total"],
             values["errors"]),
        )  # fmt: skip


async def test_register_answers_201_with_the_webhook_secret(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant, repo = new_tenant(), url()
    response = await register(client, keys, tenant, repo, ref="main", include=["*.py"])
    assert response.status_code == 201, response.text
    body = response.json()
    repo_id = ix.repo_id(tenant, repo)
    assert body["id"] == str(repo_id)
    assert body["repo"] == ix.normalize_repo(repo)
    assert (body["ref"], body["include"], body["exclude"]) == ("main", ["*.py"], [])
    assert body["created"] is True
    assert len(body["webhook_secret"]) >= 32
    assert body["webhook_path"] == "/webhooks/git"
    assert response.headers["Location"] == f"/index/repos/{repo_id}"
    [event] = stack.store.history(repo_id)
    assert isinstance(event, ix.RepoRegistered)
    assert (event.tenant_id, event.user_id, event.ref) == (tenant, "alice", "main")
    assert event.filter.include == ("*.py",)
    assert body["webhook_secret"] not in json.dumps(event.model_dump(mode="json"))


async def test_registering_again_answers_200_with_the_same_id_and_secret(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant, repo = new_tenant(), url()
    first = (await register(client, keys, tenant, repo)).json()
    before = stack.event_count()
    again = await register(client, keys, tenant, repo.removesuffix(".git") + "/", ref="other")
    assert again.status_code == 200
    assert (again.json()["id"], again.json()["webhook_secret"]) == (
        first["id"],
        first["webhook_secret"],
    )
    assert (again.json()["created"], again.json()["ref"]) == (False, "HEAD")  # as registered
    assert stack.event_count() == before


@pytest.mark.parametrize(
    ("repo", "problem"),
    [
        ("/home/alice/app", "local repositories are not granted to this tenant"),
        ("./app", "must be an absolute path"),
        ("app", "must be an absolute path"),
        ("C:\\work\\app", "must be an absolute path"),
        ("file:///srv/git/app.git", "file:// URLs are refused"),
        ("ext::sh -c touch% /tmp/pwned", "whitespace"),
        ("ext::sh", "transport::address forms are refused"),
        ("ftp://host/app.git", "the ftp:// scheme is not a clone URL"),
        ("https:///app.git", "the URL names no host"),
        ("https://bob:hunter2@git.example.com/app.git", "carries a password"),
    ],
)
async def test_local_and_unusable_repositories_are_refused(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, repo: str, problem: str
) -> None:
    before = stack.event_count()
    response = await register(client, keys, new_tenant(), repo)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("body.repo: ")
    assert problem in response.json()["detail"]
    assert stack.event_count() == before


@pytest.mark.parametrize(
    "repo",
    ["git@github.com:acme/app.git", "ssh://git@git.example.com:2222/acme/app.git",
     "git://git.example.com/app.git", "http://git.example.com:3000/acme/app"],
)  # fmt: skip
async def test_clone_urls_of_every_kind_are_accepted(
    client: httpx.AsyncClient, keys: Keys, repo: str
) -> None:
    assert (await register(client, keys, new_tenant(), repo)).status_code == 201


async def test_a_bad_registration_is_422(client: httpx.AsyncClient, keys: Keys) -> None:
    response = await register(client, keys, new_tenant(), url(), ref="")
    assert response.status_code == 422
    assert "ref" in response.json()["detail"]


async def test_the_list_has_the_tenants_repositories_with_their_status(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant, other = new_tenant(), new_tenant()
    waiting = (await register(client, keys, tenant, url())).json()
    working = (await register(client, keys, tenant, url())).json()
    theirs = (await register(client, keys, other, url())).json()
    errors = [{"path": "big.bin", "reason": "binary"}]
    write_status(stack, UUID(working["id"]), tenant, errors=errors, files=2, chunks=7)

    response = await client.get("/index/repos", headers=keys.headers(tenant))
    assert response.status_code == 200
    rows = {row["id"]: row for row in response.json()}
    assert set(rows) == {waiting["id"], working["id"]}  # not the other tenant's
    assert theirs["id"] not in rows
    assert set(rows[waiting["id"]]) == STATUS_FIELDS
    assert (rows[waiting["id"]]["state"], rows[waiting["id"]]["done"]) == ("pending", 0)
    row = rows[working["id"]]
    assert (row["state"], row["phase"], row["done"], row["total"]) == (
        "indexing",
        "embedding",
        3,
        10,
    )
    assert (row["files"], row["chunks"], row["errors"]) == (2, 7, errors)
    assert row["updated_at"] is not None


async def test_get_one_repository_with_its_registration(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    created = (await register(client, keys, tenant, url(), ref="main", exclude=["docs/*"])).json()
    write_status(stack, UUID(created["id"]), tenant, state="ready", commit="a" * 40)
    response = await client.get(f"/index/repos/{created['id']}", headers=keys.headers(tenant))
    assert response.status_code == 200
    body = response.json()
    assert (body["state"], body["commit"], body["ref"]) == ("ready", "a" * 40, "main")
    assert (body["exclude"], body["version"], body["last_error"]) == (["docs/*"], 1, "")
    assert body["indexed_commit"] is None  # no IndexUpdated yet


async def test_another_tenants_repository_is_404(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    created = (await register(client, keys, new_tenant(), url())).json()
    response = await client.get(f"/index/repos/{created['id']}", headers=keys.headers("globex"))
    assert response.status_code == 404
    unknown = await client.get(f"/index/repos/{uuid4()}", headers=keys.headers("globex"))
    assert unknown.status_code == 404
    assert response.json()["detail"] == f"no repository {created['id']}"


async def test_a_job_id_is_no_repository(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    job = await client.post("/jobs", json={"goal": "x"}, headers=keys.headers(tenant))
    response = await client.get(f"/index/repos/{job.json()['id']}", headers=keys.headers(tenant))
    assert response.status_code == 404


async def test_the_index_routes_need_a_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/index/repos")).status_code == 401
    assert (await client.post("/index/repos", json={"repo": url()})).status_code == 401
    assert (await client.get("/search", params={"q": "x"})).status_code == 401


# -- search -----------------------------------------------------------------------------------
async def test_search_without_an_indexer_is_503(client: httpx.AsyncClient, keys: Keys) -> None:
    response = await client.get("/search", params={"q": "parse"}, headers=keys.headers("acme"))
    assert response.status_code == 503
    assert response.json()["detail"] == "no indexer is running"


@pytest.mark.parametrize(
    "params",
    [{}, {"q": ""}, {"q": "x", "mode": "semantic"}, {"q": "x", "limit": 0},
     {"q": "x", "limit": 101}, {"q": "x", "token_budget": 0}, {"q": "x" * 2001}],
)  # fmt: skip
async def test_bad_search_parameters_are_422(
    client: httpx.AsyncClient, keys: Keys, params: dict[str, Any]
) -> None:
    response = await client.get("/search", params=params, headers=keys.headers("acme"))
    assert response.status_code == 422
    assert response.json()["detail"].startswith("query.")

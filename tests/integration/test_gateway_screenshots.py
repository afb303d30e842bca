"""The browser checks' screenshots through the gateway, on real PostgreSQL: a job's own PNG,
its digest in the attempts, and the refusals (a digest the job does not name, another tenant's
job, a file that is gone or altered, a name that is no digest); and the link an issue comment
gives to it."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from bdg_contracts import events as ev
from bdg_gateway.app import create_app
from bdg_gateway.issue_comments import comment_for
from bdg_jobs.domain import Cause, Job
from tests.gateway_stack import Keys, Stack, new_tenant
from tests.integration.gateway_calls import create

pytestmark = pytest.mark.timeout(60)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
DIGEST = hashlib.sha256(PNG).hexdigest()


@pytest.fixture(name="folder")
def folder_fixture(tmp_path: Path) -> Path:
    (tmp_path / f"{DIGEST}.png").write_bytes(PNG)
    return tmp_path


@pytest.fixture(name="http")
async def http_fixture(stack: Stack, keys: Keys, folder: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        stack.commands, stack.queries, stack.nc, keys.authenticator(), screenshots=folder
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


def passing_with(screenshot: str) -> Callable[[Job, Cause], None]:
    def decide(job: Job, cause: Cause) -> None:
        job.make_plan_ready(cause, "- [ ] notes")
        job.approve_plan(cause, "alice")
        job.change_files(cause, "--- a/a\n+++ b/a\n@@ -1 +1 @@\n-a\n+b\n", ("a",))
        job.finish_coding(cause, "done")
        browser = "browser check of dist passed: 'Notes'"
        job.pass_tests(cause, ev.TestResults(total=1, browser=browser, screenshot=screenshot))

    return decide


async def a_tested_job(http: httpx.AsyncClient, keys: Keys, stack: Stack, tenant: str) -> str:
    job_id: str = (await create(http, keys, tenant))["id"]
    await stack.decide(UUID(job_id), passing_with(DIGEST))
    return job_id


async def test_a_jobs_screenshot_is_served_and_named_in_its_attempt(
    http: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    job_id = await a_tested_job(http, keys, stack, tenant)
    got = await http.get(f"/jobs/{job_id}/screenshots/{DIGEST}", headers=keys.headers(tenant))
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "image/png"
    assert got.content == PNG
    attempt = (await http.get(f"/jobs/{job_id}/attempts/1", headers=keys.headers(tenant))).json()
    assert attempt["tester"]["screenshot"] == DIGEST
    assert attempt["tester"]["browser"] == "browser check of dist passed: 'Notes'"


async def test_refusals(http: httpx.AsyncClient, keys: Keys, stack: Stack, folder: Path) -> None:
    tenant = new_tenant()
    job_id = await a_tested_job(http, keys, stack, tenant)
    headers = keys.headers(tenant)
    other = await http.get(
        f"/jobs/{job_id}/screenshots/{DIGEST}", headers=keys.headers(new_tenant())
    )
    assert other.status_code == 404
    unnamed = await http.get(f"/jobs/{job_id}/screenshots/{'0' * 64}", headers=headers)
    assert unnamed.status_code == 404
    assert "names no screenshot" in unnamed.json()["detail"]
    for bad in ("..%2F..%2Fetc%2Fpasswd", DIGEST.upper(), DIGEST[:-1]):
        refused = await http.get(f"/jobs/{job_id}/screenshots/{bad}", headers=headers)
        assert refused.status_code in (404, 422), bad
        assert refused.status_code != 200
    (folder / f"{DIGEST}.png").write_bytes(PNG + b"altered")
    altered = await http.get(f"/jobs/{job_id}/screenshots/{DIGEST}", headers=headers)
    assert altered.status_code == 404
    assert "not kept here" in altered.json()["detail"]
    (folder / f"{DIGEST}.png").unlink()
    gone = await http.get(f"/jobs/{job_id}/screenshots/{DIGEST}", headers=headers)
    assert gone.status_code == 404


async def test_the_issue_comment_links_the_screenshot_its_tenant_alone_can_fetch(
    http: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    job_id = await a_tested_job(http, keys, stack, tenant)
    [passed] = [e for e in stack.store.history(UUID(job_id)) if isinstance(e, ev.TestsPassed)]
    comment = comment_for(passed, str(http.base_url))
    assert comment is not None
    link = re.search(r"\[screenshot\]\((\S+)\)", comment)
    assert link is not None, comment
    assert link[1] == f"http://gateway/jobs/{job_id}/screenshots/{DIGEST}"
    assert f"[job's page](http://gateway/app/jobs/{job_id})" in comment
    own = await http.get(link[1], headers=keys.headers(tenant))
    assert own.status_code == 200, own.text
    assert own.content == PNG
    other = await http.get(link[1], headers=keys.headers(new_tenant()))
    assert other.status_code == 404
    assert other.content != PNG

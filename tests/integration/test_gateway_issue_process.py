"""The gateway as its own process (``python -m bdg_gateway.main``) with ``BDG_ISSUE_TRIGGERS``:
a signed GitHub issue starts a job, and when the plan is ready the gateway's own reactions
comment it on the issue, on a local server answering GitHub's documented endpoint. The token
shows up in no log line. A trigger file it cannot use stops it at start, naming the file."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from bdg_jobs.domain import Cause, Job
from tests.conftest import Servers
from tests.gateway_stack import AUDIENCE, Keys, Stack, new_tenant
from tests.git_host_api import git_host
from tests.issue_samples import github_issue
from tests.waiting import eventually
from tests.webhook_samples import encoded, headers

pytestmark = pytest.mark.timeout(120)
TOKEN = "ghp_test_" + os.urandom(8).hex()


async def _listening_port(process: asyncio.subprocess.Process, lines: list[str]) -> int:
    assert process.stdout is not None
    while line := (await process.stdout.readline()).decode():
        lines.append(line)
        message = json.loads(line)["msg"] if line.startswith("{") else line
        if message.startswith("gateway listening on http://"):
            return int(message.rsplit(":", 1)[1])
    raise AssertionError(f"gateway exited with {await process.wait()}: {''.join(lines)}")


async def _drain(process: asyncio.subprocess.Process, lines: list[str]) -> None:
    assert process.stdout is not None
    while line := (await process.stdout.readline()).decode():
        lines.append(line)


async def test_an_issue_starts_a_job_and_its_plan_is_commented(
    keys: Keys, stack: Stack, servers: Servers, namespace: str, tmp_path: Path
) -> None:
    tenant, owner = new_tenant(), new_tenant()
    with git_host(TOKEN, {(f"{owner}/app", 1)}) as host:
        triggers = tmp_path / "issues.json"
        access = {"token": TOKEN, "api_url": host.github_api}
        triggers.write_text(json.dumps({tenant: {"label": "agent", "github": access}}))
        env = {
            **os.environ,
            "DATABASE_URL": stack.database_url,
            "NATS_URL": servers.nats_url,
            "BDG_NAMESPACE": namespace,
            "GATEWAY_PORT": "0",
            "JWT_ALGORITHM": "EdDSA",
            "JWT_PUBLIC_KEY": keys.ed_public_pem,
            "JWT_AUDIENCE": AUDIENCE,
            "AGENT_SANDBOX_ENDPOINT": "unix:///nonexistent/sandbox.sock",
            "BDG_ISSUE_TRIGGERS": str(triggers),
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bdg_gateway.main", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        lines: list[str] = []
        try:
            port = await asyncio.wait_for(_listening_port(process, lines), 40)
            draining = asyncio.create_task(_drain(process, lines))
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                auth = keys.headers(tenant, algorithm="EdDSA")
                url = f"https://github.com/{owner}/app.git"
                registered = await http.post("/index/repos", json={"repo": url}, headers=auth)
                assert registered.status_code == 201, registered.text
                payload = github_issue(owner=owner, labels=("agent",))
                payload["repository"] |= {"full_name": f"{owner}/app", "clone_url": url}
                body = encoded(payload)
                secret = registered.json()["webhook_secret"]
                sent = headers("github", body, secret, event="issues")
                started = await http.post("/webhooks/git", content=body, headers=sent)
                assert started.status_code == 202, started.text
                [job_id] = [UUID(j) for j in started.json()["jobs"]]

            def plan(job: Job, cause: Cause) -> None:
                job.make_plan_ready(cause, "## Plan\n- notes in IndexedDB")

            await stack.decide(job_id, plan)

            async def commented() -> bool:
                return len(host.comments) == 1

            await eventually(commented, 30, "the plan comment from the gateway process")
            [comment] = host.comments
            assert comment.number == 1
            assert comment.body.endswith("## Plan\n- notes in IndexedDB")
            assert comment.headers["authorization"] == f"Bearer {TOKEN}"
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 30) == 0
            await asyncio.wait_for(draining, 10)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert lines
        assert not [line for line in lines if TOKEN in line]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "BDG_ISSUE_TRIGGERS"),
        (json.dumps({"acme": {"gitea": {"token": "x"}}}), "acme.gitea needs an api_url"),
        (json.dumps({"acme": {"label": "", "github": {"token": "x"}}}), "acme.label"),
    ],
)
def test_main_refuses_a_trigger_file_it_cannot_use(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "issues.json"
    path.write_text(content)
    result = subprocess.run(
        [sys.executable, "-m", "bdg_gateway.main"],
        env={**os.environ, "BDG_ISSUE_TRIGGERS": str(path), "JWT_ALGORITHM": "HS256",
             "JWT_SECRET": "s" * 40, "DATABASE_URL": "postgresql://nowhere/x",
             "NATS_URL": "nats://x:1"},
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert str(path) in result.stderr

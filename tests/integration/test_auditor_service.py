"""The auditor as a real process on real PostgreSQL, NATS and S3 (SeaweedFS): kill -9 while
files are being written, and an S3 that is down when jobs end."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import nats
import psycopg
import pytest

from bdg_audit.keys import public_keys
from bdg_audit.layout import jwks_key
from bdg_audit.settings import AuditSettings
from bdg_audit.store import ObjectStore
from bdg_audit.verify import verify_file
from bdg_contracts.audit_events import audit_trail_id
from bdg_contracts.states import JobState
from bdg_jobs.application import JobApplication
from bdg_jobs.store import JobStore
from bdg_runtime.bus import JetStreamPublisher, ensure_streams
from tests.audit_history import ended_job
from tests.conftest import Servers
from tests.integration.audit_rig import audit_settings
from tests.ports import free_port
from tests.waiting import eventually

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]
ROOT = Path(__file__).parents[2]

_RECORDED = "SELECT originator_id, state FROM bdg_job_events WHERE topic = 'AuditFileWritten'"


@dataclass
class Auditor:
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        self.starts += 1
        with (self.log.parent / f"auditor-{self.starts}.log").open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bdg_auditor.main"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.log.parent.glob("auditor-*.log"))
        )

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Rig:
    app: JobApplication
    store: JobStore
    settings: AuditSettings
    objects: ObjectStore
    database_url: str
    auditor: Auditor
    nc: Any = field(default=None)

    async def recorded(self) -> list[dict[str, Any]]:
        async with await psycopg.AsyncConnection.connect(self.database_url) as conn:
            rows = await (await conn.execute(_RECORDED)).fetchall()
        return [json.loads(bytes(r[1])) for r in rows]


def _env(
    servers: Servers, database_url: str, namespace: str, settings: AuditSettings, endpoint: str
) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "NATS_URL": servers.nats_url,
        "BDG_NAMESPACE": namespace,
        "BDG_HOME": str(settings.bdg_home),
        "BDG_S3_ENDPOINT": endpoint,
        "BDG_S3_BUCKET": settings.bdg_s3_bucket,
        "BDG_AUDIT_RETRY_SECONDS": "1",
        "BDG_ACK_WAIT_SECONDS": "2",
        "BDG_LOG_FORMAT": "text",
        "AGENT_SANDBOX_ENDPOINT": "unix:///nonexistent/sandbox.sock",
    }


@contextlib.asynccontextmanager
async def _rig(
    servers: Servers, database_url: str, namespace: str, tmp_path: Path, s3: str, endpoint: str
) -> AsyncIterator[Rig]:
    settings = audit_settings(s3, tmp_path)
    nc = await nats.connect(servers.nats_url)
    js = nc.jetstream()
    await ensure_streams(js, 600)
    store = JobStore.from_url(database_url)
    auditor = Auditor(_env(servers, database_url, namespace, settings, endpoint), tmp_path / "x")
    rig = Rig(
        JobApplication(store, JetStreamPublisher(js)),
        store,
        settings,
        ObjectStore.connect(s3, settings),
        database_url,
        auditor,
        nc,
    )
    try:
        yield rig
    finally:
        rig.auditor.stop()  # a test may have put an auditor of its own in the rig
        auditor.stop()
        store.close()
        await nc.close()


async def _ready(rig: Rig) -> None:
    async def ready() -> bool:
        return "auditor ready" in rig.auditor.output()

    await eventually(ready, 60, "the auditor to start")


def _verify_all(rig: Rig, expected: set[str]) -> None:
    """Every job has one recorded file, stored whole (sha256) and verifying; nothing else."""
    objects = {o.key for o in rig.objects.list("audit/acme/")}
    jwks = json.loads(rig.objects.get(jwks_key("audit")) or b"{}")
    assert len(objects) == len(expected), objects
    for key in objects:
        content = rig.objects.get(key)
        assert content is not None
        job = key.rsplit("/", 2)[-2]
        assert job in expected
        assert verify_file(content, job, public_keys(jwks)) == []


async def test_kill_9_while_writing_leaves_each_file_whole_and_recorded_once(
    servers: Servers, database_url: str, namespace: str, tmp_path: Path, s3_endpoint: str
) -> None:
    async with _rig(servers, database_url, namespace, tmp_path, s3_endpoint, s3_endpoint) as rig:
        rig.auditor.start()
        await _ready(rig)
        jobs = [ended_job(tenant="acme") for _ in range(40)]
        for job in jobs:
            await rig.app.start(job)

        async def some_written() -> int:
            return len(await rig.recorded())

        first = await eventually(some_written, 60, "a first audit file")
        rig.auditor.kill()
        assert first < len(jobs), "all files were written before the kill: nothing was tested"
        rig.auditor.start()

        async def all_written() -> bool:
            return len(await rig.recorded()) >= len(jobs)

        await eventually(all_written, 90, "every audit file after the restart")
        recorded = await rig.recorded()
        assert sorted(r["audited_job_id"] for r in recorded) == sorted(str(j.job_id) for j in jobs)
        for r in recorded:
            content = rig.objects.get(r["object_key"])
            assert content is not None
            assert hashlib.sha256(content).hexdigest() == r["sha256"]
        _verify_all(rig, {str(j.job_id) for j in jobs})


class Switchable:
    """A TCP door in front of the real S3: closed, connections are refused (S3 is down)."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.listen = free_port()
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listen}"

    async def open(self) -> None:
        self.server = await asyncio.start_server(self._pipe, "127.0.0.1", self.listen)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            for writer in self.writers:
                writer.close()
            self.server = None

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        self.writers += [writer, up_writer]

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(Exception):
                dst.close()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))


@pytest.fixture
def door(s3_endpoint: str) -> Switchable:
    return Switchable(s3_endpoint)


async def test_s3_down_leaves_jobs_alone_and_files_come_when_it_returns(
    servers: Servers,
    database_url: str,
    namespace: str,
    tmp_path: Path,
    s3_endpoint: str,
    door: Switchable,
) -> None:
    async with _rig(servers, database_url, namespace, tmp_path, s3_endpoint, door.url) as rig:
        rig.auditor.start()
        await _ready(rig)
        job = ended_job(tenant="acme")
        await rig.app.start(job)
        version = job.version

        async def waiting_for_s3() -> bool:
            return "waits for S3" in rig.auditor.output()

        await eventually(waiting_for_s3, 60, "the auditor to find S3 down")
        stored = await rig.app.load(job.job_id)
        assert (stored.state, stored.version) == (JobState.cancelled, version)
        assert await rig.recorded() == []

        await door.open()
        try:

            async def written() -> list[dict[str, Any]]:
                return await rig.recorded()

            recorded = await eventually(written, 60, "the file once S3 is back")
        finally:
            await door.close()
        assert [r["audited_job_id"] for r in recorded] == [str(job.job_id)]
        assert rig.store.history(audit_trail_id(job.job_id))[0].version == 1
        stored = await rig.app.load(job.job_id)
        assert (stored.state, stored.version) == (JobState.cancelled, version)
        assert "dead-lettered" not in rig.auditor.output()

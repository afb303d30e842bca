"""Service processes for end-to-end tests, and waiting on the job log with a deadline."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

from bdg_contracts.base import Event
from bdg_contracts.states import JobState
from bdg_jobs.sources import write_grants
from bdg_jobs.store import JobStore
from tests.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ServiceProcess:
    role: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)

    def start(self) -> ServiceProcess:
        path = self.log_path.with_suffix(f".{len(self.logs)}.log")
        self.logs.append(path)
        out = path.open("wb")
        self.proc = subprocess.Popen(
            self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
        )
        out.close()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def output(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 20) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)


@dataclass
class Cluster:
    """Test-only service processes sharing one database and one bus namespace."""

    database_url: str
    nats_url: str
    namespace: str
    workdir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: list[ServiceProcess] = field(default_factory=list)

    def grants(self) -> Path:
        """The source grants of this test: its tenants may name repositories under its dir."""
        path = self.workdir / "source-grants.json"
        if not path.exists():
            write_grants(path, {t: [self.workdir] for t in ("acme", "globex", "local")})
        return path

    def env(self, role: str) -> dict[str, str]:
        return {
            **os.environ,
            "BDG_SOURCE_GRANTS": str(self.grants()),
            "DATABASE_URL": self.database_url,
            "NATS_URL": self.nats_url,
            "BDG_NAMESPACE": self.namespace,
            "BDG_SERVICE_NAME": role,
            "BDG_LOG_FORMAT": "text",
            "BDG_ACK_WAIT_SECONDS": "2",
            "BDG_BACKOFF_SECONDS": "[0.2, 0.4, 0.8]",
            "BDG_MAX_DELIVER": "3",
            "BDG_STEP_TIMEOUT_SECONDS": "30",
            "BDG_RECONCILE_AFTER_SECONDS": "3",
            "BDG_TEST_MARKERS": str(self.workdir),
            "AGENT_SANDBOX_ENDPOINT": f"unix://{self.workdir}/no-sandbox.sock",
            # At the test's own priority: background services nice themselves to 10 (so the
            # API comes first), and beside other test workers busy at nice 0 (pytest -n 3) a
            # niced indexer got a tenth of a core and missed its 30 s. test_process_priority
            # unsets this to check the default.
            "BDG_NICE": "0",
            **self.extra_env,
        }

    def start(
        self, role: str, module: str = "tests.e2e.stepper", env: dict[str, str] | None = None
    ) -> ServiceProcess:
        """``env`` adds to (or, with "", unsets) this one process's environment."""
        n = len([p for p in self.processes if p.role == role])
        argv = (
            [sys.executable, "-m", module, role]
            if module == "tests.e2e.stepper"
            else [sys.executable, "-m", module]
        )
        own = {k: v for k, v in {**self.env(role), **(env or {})}.items() if v != ""}
        process = ServiceProcess(role, argv, own, self.workdir / f"{role}-{n}")
        self.processes.append(process.start())
        return process

    def start_all(
        self, roles: tuple[str, ...] = ("planner", "coder", "tester", "deployer")
    ) -> None:
        for role in roles:
            self.start(role)

    def stop(self) -> None:
        for process in self.processes:
            process.stop()

    def output(self) -> str:
        return "\n".join(f"--- {p.role} ---\n{p.output()}" for p in self.processes)

    def handled_lines(self) -> Iterator[str]:
        for process in self.processes:
            for line in process.output().splitlines():
                if line.startswith("handled "):
                    yield line


async def wait_for_state(
    store: JobStore, job_id: UUID, state: JobState, timeout: float = 30
) -> list[Event]:
    async def probe() -> list[Event] | None:
        history = await asyncio.to_thread(store.history, job_id)
        job_state = _state(history)
        return history if job_state == state else None

    return await eventually(probe, timeout, f"job {job_id} to reach {state.value}")


def _state(history: list[Event]) -> JobState | None:
    from bdg_jobs.domain import Job

    return Job.replay(history).state if history else None


def reactions_per_cause(history: list[Event]) -> dict[tuple[str, str], int]:
    """(producer, causation_id) -> how many separate saves reacted to that cause.

    The events of one save are consecutive and share one decision time."""
    counts: dict[tuple[str, str], int] = {}
    previous: tuple[str, str, object] | None = None
    for event in history:
        key = (event.producer, event.causation_id or "")
        run = (*key, event.occurred_at)
        if event.causation_id and run != previous:
            counts[key] = counts.get(key, 0) + 1
        previous = run
    return counts

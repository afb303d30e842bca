"""`bdg demo` as a real process tree: the reference job end to end, then nothing left running."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from bdg_cli.up import SERVICES
from tests.conftest import Servers
from tests.ports import free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
EVENT_LINE = re.compile(r"^v(\d+)\s+(\w+)")
STEPS = [  # what the reference job must show, in this order (other lines may come between)
    "JobRequested",
    "PlanDrafted",
    "PlanCritiqued",
    "PlanReady",
    "approving plan as demo-user",
    "PlanApproved",
    "FilesChanged",
    "CodingFinished",
    "TestsFailed",
    "CodingFinished",
    "TestsPassed",
    "ReviewCompleted",
    "DeployAwaitingApproval",
    "approving deploy as demo-user",
    "DeployApproved",
    "Deployed",
    "summary",
    "done after 23 events",
]


@pytest.fixture
def home() -> Iterator[Path]:
    # Outside pytest's 0700 tmp root: as root, pgserver's own user must traverse to PGDATA.
    path = Path(tempfile.mkdtemp(prefix="bdg-demo-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@dataclass
class Demo:
    """`bdg demo` in a subprocess; its output read line by line with a deadline."""

    env: dict[str, str]
    home: Path
    lines: list[str] = field(default_factory=list)
    proc: asyncio.subprocess.Process | None = None
    cwd: Path = ROOT

    async def start(self, *args: str) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bdg_cli.main",
            "demo",
            "--reference",
            "--home",
            str(self.home),
            *args,
            env=self.env,
            cwd=self.cwd,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )

    async def until(self, pattern: str, timeout: float = 120) -> re.Match[str]:
        assert self.proc is not None
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            raw = await asyncio.wait_for(self.proc.stdout.readline(), deadline - time.monotonic())
            assert raw, f"demo ended before {pattern!r}:\n{self.output()}"
            self.lines.append(raw.decode().rstrip("\n"))
            if match := re.search(pattern, self.lines[-1]):
                return match

    async def finish(self, timeout: float = 120) -> int:
        assert self.proc is not None
        rest, _ = await asyncio.wait_for(self.proc.communicate(), timeout)
        self.lines += rest.decode().splitlines()
        assert self.proc.returncode is not None
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()

    def output(self) -> str:
        services = self.home / "demo-services.log"
        logs = services.read_text(errors="replace") if services.exists() else ""
        return "\n".join(self.lines) + "\n----- services -----\n" + logs

    def service_pids(self) -> list[int]:
        log = (self.home / "demo-services.log").read_text()
        return [int(pid) for pid in re.findall(r"^\[\w+\] started \(pid (\d+)\)", log, re.M)]


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NATS_URL")}
    return {
        **env,
        "BDG_USER": "demo-user",
        "BDG_TENANT": "demo",
        "COLUMNS": "200",
        "GATEWAY_PORT": str(free_port()),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


@pytest.fixture
async def demo(
    database_url: str, namespace: str, servers: Servers, home: Path
) -> AsyncIterator[Demo]:
    env = base_env(DATABASE_URL=database_url, NATS_URL=servers.nats_url, BDG_NAMESPACE=namespace)
    running = Demo(env, home)
    yield running
    running.kill()


def in_order(lines: list[str], steps: list[str]) -> list[str]:
    """The steps not found in order (empty when all were)."""
    remaining = iter(lines)
    return [step for step in steps if not any(step in line for line in remaining)]


def leftovers(pids: list[int], namespace: str | None = None) -> list[psutil.Process]:
    """Processes of the demo still alive: its services, or anything in its bus namespace."""
    alive = []
    for proc in psutil.process_iter():
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if proc.pid in pids or (namespace and proc.environ().get("BDG_NAMESPACE") == namespace):
                alive.append(proc)
        except psutil.Error:
            continue
    return alive


def assert_steps_shown(demo: Demo) -> None:
    out = demo.output()
    assert not (missing := in_order(demo.lines, STEPS)), f"not shown in order: {missing}\n{out}"
    versions = [int(m[1]) for line in demo.lines if (m := EVENT_LINE.match(line))]
    assert versions == list(range(1, 24)), out  # every event once, in order
    assert "deployed at https://notes-pwa.preview.bigdaddyg.invalid/" in out
    assert "Traceback" not in "\n".join(demo.lines)


@pytest.mark.timeout(180)
async def test_demo_runs_the_reference_job_and_leaves_nothing_behind(
    demo: Demo, namespace: str
) -> None:
    started = time.monotonic()
    await demo.start("--timeout", "120")
    assert await demo.finish() == 0, demo.output()
    print(f"demo wall time: {time.monotonic() - started:.1f} s")
    assert_steps_shown(demo)
    assert "stack configured" in demo.output()
    pids = demo.service_pids()
    assert len(pids) == len(SERVICES), demo.output()
    assert not leftovers(pids, namespace), demo.output()


@pytest.mark.timeout(180)
async def test_the_master_key_goes_under_the_home_never_the_current_directory(
    demo: Demo, tmp_path: Path
) -> None:
    """No BDG_MASTER_KEY: the key is a file, made by whichever process seals first. The demo
    run from another directory with --home must leave nothing there."""
    demo.env.pop("BDG_MASTER_KEY", None)
    demo.env.pop("BDG_HOME", None)
    demo.cwd = tmp_path / "elsewhere"
    demo.cwd.mkdir()
    await demo.start("--timeout", "120")
    assert await demo.finish() == 0, demo.output()
    assert "done after 23 events" in demo.output()  # personal fields sealed and read back
    assert list(demo.cwd.iterdir()) == [], demo.output()
    assert (demo.home / "master.key").is_file()


@pytest.mark.timeout(180)
async def test_gated_demo_waits_for_the_approve_commands(demo: Demo, namespace: str) -> None:
    await demo.start("--gated", "--timeout", "120")
    for flag in ("", " --deploy"):
        match = await demo.until(rf"approve it with: (?:\S+=\S+ )?(bdg job approve \S+{flag})$")
        argv = match[1].split()[1:]
        approve = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bdg_cli.main",
            *argv,
            env=demo.env,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        said, _ = await asyncio.wait_for(approve.communicate(), 60)
        assert approve.returncode == 0, said.decode()
    assert await demo.finish() == 0, demo.output()
    assert not in_order(
        demo.lines,
        [
            "PlanReady",
            "the plan waits for you",
            "PlanApproved",
            "DeployAwaitingApproval",
            "the deploy waits for you",
            "DeployApproved",
            "Deployed",
            "done",
        ],
    ), demo.output()
    assert "approving" not in "\n".join(demo.lines)
    assert not leftovers(demo.service_pids(), namespace), demo.output()


@pytest.mark.timeout(120)
async def test_demo_that_times_out_exits_1_and_still_stops_everything(
    demo: Demo, namespace: str
) -> None:
    await demo.start("--gated", "--timeout", "1")
    assert await demo.finish() == 1, demo.output()
    assert "timed out after 1 s" in demo.output()
    assert f"stopped {len(SERVICES)} services" in demo.output()
    assert not leftovers(demo.service_pids(), namespace), demo.output()


@pytest.mark.timeout(240)
async def test_demo_on_the_embedded_stack(home: Path) -> None:
    env = base_env()
    env.pop("BDG_NAMESPACE", None)
    demo = Demo(env, home)
    try:
        await demo.start("--timeout", "180")
        assert await demo.finish(200) == 0, demo.output()
    finally:
        demo.kill()
    assert_steps_shown(demo)
    assert f"stack embedded under {home}" in demo.output()
    assert "stopping the embedded stack" in demo.output()
    servers = [
        p
        for p in psutil.process_iter(["cmdline", "status"])
        if str(home) in " ".join(p.info["cmdline"] or [])
        and p.info["status"] != psutil.STATUS_ZOMBIE
    ]
    assert not servers, [p.info["cmdline"] for p in servers]
    assert not leftovers(demo.service_pids()), demo.output()

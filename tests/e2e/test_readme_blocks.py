"""README's shell blocks, run: `bdg up` in the background on a temporary BDG_HOME, then every
README command that can run offline against it, as a newcomer types them, in README's order.

Each line of a ```sh block is either run or named in ``NOT_RUN`` with the reason (a small,
explicit list: a new README line is run unless someone says why not). Placeholders are filled
from what earlier lines made: JOB is the job `bdg job create` printed; the job is cancelled first
so `job events --follow` ends. A line passes when it exits 0, or, for the commands that steer a
job, 1 with a message ("not allowed now": the job is cancelled); never a usage error (2) or a
traceback. The same stack shows #16's rule: `bdg up` starts the embedded SeaweedFS, the auditor
writes the cancelled job's audit.csv into it, and on exit no `weed` is left.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from bdg_audit.settings import AuditSettings
from bdg_audit.store import ObjectStore
from tests.e2e.test_bdg_up import kill_if_running, read_until, stop_leftovers
from tests.waiting import eventually

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()

# Lines not run here, by their start, and why.
NOT_RUN = {
    "bdg up": "the stack the other lines run against: started first, in the background",
    "bdg demo": "the scenario: tests/e2e/test_pwa_scenario.py (--reference, --live: test_demo*)",
    "OPENAI_BASE_URL=": "the scenario against a real model: needs its endpoint and key",
    "pytest": "the test suite itself",
    "BDG_TEST_STACK=external uv run pytest": "the test suite itself, on this machine's servers",
    "make lint": "CI's lint step",
    "make bench": "benchmarks, minutes long: bench/",
    "bdg sandbox start": "a root daemon of its own: tests/e2e/test_bdg_up.py starts and stops one",
    "bdg sandbox stop": "stops that daemon (see `bdg sandbox start`)",
    "bdg job approve-tool": "needs a gated tool call (CALL): tests/integration/test_cli_tools.py",
    "bdg dlq retry": "needs a dead letter (SEQ): tests/integration/test_cli.py makes one",
}
# Lines that must exit 0 (the others may also exit 1: the job is cancelled, so steering it is
# "not allowed now"; a job replayed or forked from a version it never had says so).
MUST_WORK = ("bdg init", "bdg job create", "bdg job list", "bdg job show", "bdg job plan",
             "bdg job tools", "bdg job cancel", "bdg job attempts", "bdg replay", "bdg dlq list",
             "bdg index status", "bdg cost")  # fmt: skip

# Exit 1 with no `error:` line is their answer: `--follow` of a cancelled job, a replay that
# diverged, no sandboxd running (this test starts none), a host where a protection is missing.
SAYS_1_BY_ITS_CODE = ("bdg job events", "bdg job replay", "bdg sandbox status", "sandboxd doctor")


def readme_lines() -> list[str]:
    """Each command of README's ```sh blocks, comment and `uv run` removed, `a|b` expanded."""
    lines: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        for raw in block.splitlines():
            line = raw.split(" #")[0].strip().removeprefix("uv run ")
            words = line.split()
            for i, word in enumerate(words):  # `job pause|resume|cancel|retry JOB`: one each
                if "|" in word and not word.startswith(("-", '"')):
                    lines += [" ".join([*words[:i], w, *words[i + 1 :]]) for w in word.split("|")]
                    break
            else:
                lines += [line] if line else []
    # `bdg init` first: it makes the repository (./my-app) the operations block names.
    return sorted(lines, key=lambda line: not line.startswith("bdg init"))


def not_run(line: str) -> str | None:
    return next((why for start, why in NOT_RUN.items() if line.startswith(start)), None)


def test_every_readme_line_is_run_or_has_a_reason() -> None:
    lines = readme_lines()
    assert "bdg job list" in lines
    assert "bdg job pause JOB" in lines  # `pause|resume|cancel|retry`: one line each
    unused = [start for start in NOT_RUN if not any(line.startswith(start) for line in lines)]
    assert unused == [], "NOT_RUN names lines README no longer has"


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Outside pytest's 0700 tmp root: as root, pgserver's own user must traverse to PGDATA.
    path = Path(tempfile.mkdtemp(prefix="bdg-readme-"))
    os.chmod(path, 0o755)
    yield path
    stop_leftovers(path / "home")
    shutil.rmtree(path, ignore_errors=True)


def weeds_of(home: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            ours = "weed" in (proc.info["name"] or "") and str(home) in " ".join(
                proc.info["cmdline"] or []
            )
            if ours and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except psutil.Error:
            continue
    return found


async def run(
    line: str, env: dict[str, str], cwd: Path, job: str
) -> subprocess.CompletedProcess[str]:
    words = [job if w == "JOB" else w for w in shlex.split(line) if w != "[REPO_ID]"]
    binary = str(Path(sys.executable).parent / words[0])
    started = time.monotonic()
    done = await asyncio.to_thread(
        subprocess.run,
        [binary, *words[1:]], cwd=cwd, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    print(f"{time.monotonic() - started:5.1f} s  {line}", flush=True)  # shown on a failure
    return done


async def drained(proc: asyncio.subprocess.Process, seen: list[str]) -> None:
    assert proc.stdout is not None
    while line := await proc.stdout.readline():
        seen.append(line.decode().rstrip("\n"))


async def test_readme_lines_run_against_bdg_up(workdir: Path) -> None:
    """As README has it: URLs unset, so `bdg up` starts the embedded stack under BDG_HOME and
    each command joins it."""
    home = workdir / "home"
    unset = ("BDG_S3", "AWS_", "DATABASE_URL", "NATS_URL", "BDG_NAMESPACE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(unset)}
    env |= {
        "BDG_HOME": str(home),
        "BDG_TENANT": "local",
        "BDG_ANSWERS_FILE": str(ROOT / "examples" / "reference-job.json"),
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",  # never reached: no model is needed here
        "BDG_LOG_FORMAT": "text",
        "AGENT_SANDBOX_ENDPOINT": f"unix://{workdir}/no-sandbox.sock",
        "PYTHONUNBUFFERED": "1",
        "COLUMNS": "200",
    }
    bdg = str(Path(sys.executable).parent / "bdg")
    up = await asyncio.create_subprocess_exec(
        bdg, "up", "--no-sandbox", "--home", str(home), cwd=workdir, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    seen: list[str] = []
    try:
        urls = await read_until(up, r"\[up\] stack embedded under \S+: (\S+) (\S+)", seen)
        # The URLs the stack printed: each command would find them under BDG_HOME too, at the
        # cost of joining the stack (pgserver, locks) every time.
        env |= {"DATABASE_URL": urls[1], "NATS_URL": urls[2]}
        s3 = await read_until(up, r"\[up\] s3: SeaweedFS embedded under \S+ at (http://\S+)", seen)
        await read_until(up, r"\[indexer\]", seen)
        drain = asyncio.create_task(drained(up, seen))  # a full pipe would stall the services
        [weed] = weeds_of(home)
        job = ""
        for line in readme_lines():
            if not_run(line):
                continue
            if line.startswith("bdg job create"):
                # The services' cwd is not ours: the README's relative repo is made absolute.
                done = await run(line, env, workdir, job)
                assert done.returncode == 0, done.stderr
                job = done.stdout.strip().splitlines()[-1]
                cancelled = await run("bdg job cancel JOB", env, workdir, job)
                assert cancelled.returncode == 0, cancelled.stderr
                continue
            done = await run(line, env, workdir, job)
            said = f"{line}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
            assert "Traceback" not in done.stderr, said
            must = line.startswith(MUST_WORK) and not line.startswith("bdg job cancel")
            assert done.returncode in ((0,) if must else (0, 1)), said
            if done.returncode == 1 and not line.startswith(SAYS_1_BY_ITS_CODE):
                assert done.stderr.startswith("error: "), said

        # #16: the cancelled job's signed audit.csv is in the stack's SeaweedFS.
        objects = ObjectStore.connect(s3[1], AuditSettings(bdg_s3_endpoint=s3[1]))

        def audit_files() -> list[str] | None:
            keys = [o.key for o in objects.list("audit/local/") if o.key.endswith(".csv")]
            return [k for k in keys if f"/{job}/audit-v" in k] or None

        await eventually(lambda: asyncio.to_thread(audit_files), 60, "the job's audit.csv")

        up.send_signal(signal.SIGINT)
        await asyncio.wait_for(drain, 60)
        assert await up.wait() == 0, "\n".join(seen[-40:])
        assert not weed.is_running() or weed.status() == psutil.STATUS_ZOMBIE
        assert weeds_of(home) == []
    finally:
        await kill_if_running(up)
        for leftover in weeds_of(home):
            leftover.kill()

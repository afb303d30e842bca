"""A real sandboxd process for tests: its own socket, state dir and settings."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bdg_contracts.sources import write_grants
from bdg_sandbox.client import SandboxClient, SandboxUnavailableError
from tests.waiting import eventually


@dataclass
class Daemon:
    endpoint: str
    state: Path
    proc: subprocess.Popen[bytes]
    log: Path

    def client(self) -> SandboxClient:
        return SandboxClient(self.endpoint)

    @property
    def grants_file(self) -> Path:
        """BDG_SOURCE_GRANTS of this sandboxd (no file at first: no local sources)."""
        return self.state.parent / "source-grants.json"

    def grant(self, grants: Mapping[str, Sequence[Path]]) -> None:
        """Grant each tenant local sources under its roots (sandboxd reads it at each check)."""
        write_grants(self.grants_file, grants)

    def grant_file(self, body: Mapping[str, object]) -> None:
        """Write the grants file as given (the object form: roots and clone hosts per tenant)."""
        self.grants_file.write_text(json.dumps(body))

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> int:
        """SIGTERM (SIGKILL after 20 s); the exit code. The home stays for output()."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait(10)

    def remove(self) -> None:
        """The home, and any tenant disk a killed sandboxd left mounted there (rmtree would
        empty it and leave its loop device behind)."""
        home = str(self.state.parent)
        with open("/proc/self/mountinfo") as mountinfo:
            points = [line.split()[4] for line in mountinfo]
        for point in sorted((p for p in points if p.startswith(home + "/")), reverse=True):
            subprocess.run(["umount", "-l", point], check=False, capture_output=True)
        shutil.rmtree(self.state.parent, ignore_errors=True)


async def start_daemon(**env: str) -> Daemon:
    # Outside pytest's tmp root, which is 0700: the sandbox user must reach the workspaces.
    home = Path(tempfile.mkdtemp(prefix="bdg-sandboxd-test-"))
    os.chmod(home, 0o755)
    endpoint = f"unix://{home}/sandbox.sock"
    log = home / "sandboxd.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: ASYNC220  (started once, not awaited)
            [sys.executable, "-m", "bdg_sandboxd.main"],
            env={
                **os.environ,
                "AGENT_SANDBOX_ENDPOINT": endpoint,
                "SANDBOX_STATE_DIR": str(home / "state"),
                "BDG_SOURCE_GRANTS": str(home / "source-grants.json"),  # Daemon.grant writes it
                **env,
            },
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    daemon = Daemon(endpoint, home / "state", proc, log)

    async def answers() -> bool:
        assert proc.poll() is None, f"sandboxd exited:\n{daemon.output()}"
        try:
            async with daemon.client() as client:
                await client.hello()
        except SandboxUnavailableError:
            return False
        return True

    await eventually(answers, 30, "sandboxd to answer")
    return daemon

"""A nats-server of a test's own, which the test may kill, wipe and start again."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from bdg_runtime.bus import connect
from tests.ports import free_port
from tests.waiting import eventually

NATS_SERVER = Path(sys.executable).parent / "nats-server"


class OwnNats:
    def __init__(self, store_dir: Path) -> None:
        self.store_dir = store_dir
        self.port = free_port()  # below the ephemeral range: still free when started again
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        argv = [str(NATS_SERVER), "-js", "-sd", str(self.store_dir)]
        self.proc = subprocess.Popen(
            [*argv, "-a", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def started(self) -> None:
        """Start, and wait until it accepts clients."""
        self.start()
        await eventually(self._accepts, 10, f"nats-server on port {self.port}")

    def kill(self, wipe: bool = False) -> None:
        """SIGKILL (no goodbye to clients); ``wipe`` also deletes its store."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if wipe:
            shutil.rmtree(self.store_dir)

    async def _accepts(self) -> bool:
        try:
            nc = await connect(self.url, "probe", first_attempt_seconds=2)
        except Exception:
            return False
        await nc.close()
        return True

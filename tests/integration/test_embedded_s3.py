"""The embedded SeaweedFS: shared by the processes under one home, stopped by the last one
quickly (a supervisor's stop timeout is 10 s), its objects still there when it starts again."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from bdg_audit.settings import AuditSettings
from bdg_audit.store import ObjectStore
from bdg_runtime.embedded import start_embedded
from tests.waiting import wait_until

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]


def test_stopped_fast_and_nothing_lost() -> None:
    home = Path(tempfile.mkdtemp(prefix="bdg-test-s3-restart-"))
    try:
        first = start_embedded(home, postgres=False, nats=False, s3=True)
        assert first.s3_url
        assert first.s3_pid
        objects = ObjectStore.connect(first.s3_url, AuditSettings(bdg_s3_bucket="restart-test"))
        objects.ensure_bucket()
        objects.put("a/b.csv", b"kept\n")
        pid = first.s3_pid

        started = time.monotonic()
        first.stop()
        assert time.monotonic() - started < 5
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE

        again = start_embedded(home, postgres=False, nats=False, s3=True)
        try:
            assert again.s3_url
            objects = ObjectStore.connect(again.s3_url, AuditSettings(bdg_s3_bucket="restart-test"))
            assert objects.get("a/b.csv") == b"kept\n"
        finally:
            again.stop()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_a_second_user_keeps_it_running() -> None:
    home = Path(tempfile.mkdtemp(prefix="bdg-test-s3-shared-"))
    try:
        one = start_embedded(home, postgres=False, nats=False, s3=True)
        two = start_embedded(home, postgres=False, nats=False, s3=True)
        assert one.s3_url == two.s3_url
        assert one.s3_pid == two.s3_pid
        # Both handles are this process: the state names it once, so the first stop ends it.
        one.stop()
        two.stop()
        assert two.s3_pid is None
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _weeds_of(home: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if (
            proc.info["status"] != psutil.STATUS_ZOMBIE
            and str(home) in cmdline
            and "weed" in cmdline
        ):
            found.append(proc)
    return found


def test_an_auditor_stopped_while_its_s3_starts_leaves_nothing_running(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BDG_S3", "AWS_"))}
    auditor = subprocess.Popen(
        [sys.executable, "-m", "bdg_auditor.main"],
        env={**env, "BDG_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: (home / "s3.json").exists(), 60, "the auditor to start SeaweedFS")
        assert _weeds_of(home)
        auditor.send_signal(signal.SIGTERM)
        auditor.wait(30)
        wait_until(lambda: not _weeds_of(home), 10, "SeaweedFS to be stopped with it")
    finally:
        if auditor.poll() is None:
            auditor.kill()
        for proc in _weeds_of(home):
            proc.kill()


def test_a_killed_seaweedfs_is_restarted_on_its_ports_with_its_objects() -> None:
    """`bdg up` supervises it like NATS: after a kill -9 the restart answers at the same
    endpoint (the one every service was given), with what was written before."""
    home = Path(tempfile.mkdtemp(prefix="bdg-test-s3-kill-"))
    stack = start_embedded(home, postgres=False, nats=False, s3=True)
    try:
        [server] = [s for s in stack.servers() if s.name == "s3"]
        assert stack.s3_url
        assert stack.s3_pid
        url, first = stack.s3_url, stack.s3_pid
        objects = ObjectStore.connect(url, AuditSettings(bdg_s3_bucket="kill-test"))
        objects.ensure_bucket()
        objects.put("a/b.csv", b"kept\n")
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: not server.alive(), 10, "the killed SeaweedFS seen dead")
        assert "at " + url in server.restart()
        assert stack.s3_pid != first
        assert server.alive()
        assert objects.get("a/b.csv") == b"kept\n"  # the same endpoint, the same store
    finally:
        stack.stop()
        shutil.rmtree(home, ignore_errors=True)
    assert _weeds_of(home) == []

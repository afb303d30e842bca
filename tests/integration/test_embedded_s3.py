"""The embedded SeaweedFS: shared by the processes under one home, stopped by the last one
quickly (a supervisor's stop timeout is 10 s), its objects still there when it starts again."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from bdg_audit.settings import AuditSettings
from bdg_audit.store import ObjectStore
from bdg_runtime.embedded import start_embedded

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

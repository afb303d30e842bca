"""The embedded SeaweedFS: shared by the processes under one home, stopped by the last one
quickly (a supervisor's stop timeout is 10 s), its objects still there when it starts again."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from bdg_audit.settings import AuditSettings
from bdg_audit.store import ObjectStore
from bdg_runtime import embedded_s3
from bdg_runtime.embedded import start_embedded
from bdg_runtime.listen_ports import free_ports
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


def test_a_port_taken_before_weed_binds_it_is_left_for_fresh_ones() -> None:
    """CI saw a parallel test's server take a port between its pick and weed's bind: the
    volume server exited on 'address already in use'. A fresh start picks new ports and goes on;
    the run that lost the port is gone, not left half up."""
    home = Path(tempfile.mkdtemp(prefix="bdg-test-s3-taken-"))
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    taken = int(squatter.getsockname()[1])
    picks: list[list[int]] = []

    def first_pick_collides(count: int) -> list[int]:
        ports = free_ports(count)
        if not picks:
            ports[2] = taken  # the volume server's port, as in the CI log
        picks.append(ports)
        return ports

    pid = 0
    try:
        pid, url = embedded_s3.start_seaweedfs(home, pick=first_pick_collides)
        assert len(picks) == 2
        assert url == f"http://127.0.0.1:{picks[1][6]}"
        objects = ObjectStore.connect(url, AuditSettings(bdg_s3_bucket="taken"))
        objects.ensure_bucket()
        objects.put("a.csv", b"up\n")
        assert objects.get("a.csv") == b"up\n"
        assert [p.pid for p in _weeds_of(home)] == [pid]
    finally:
        if pid:
            embedded_s3.release_seaweedfs(home, pid, 10.0)
        squatter.close()
        shutil.rmtree(home, ignore_errors=True)
    assert _weeds_of(home) == []


def _bound(sock: socket.socket, port: int) -> bool:
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        return False
    return True


def test_a_restart_whose_port_is_taken_says_so_and_keeps_its_ports() -> None:
    """A restart must answer at the URL every service was given: it does not move to other
    ports, it fails and names the cause."""
    home = Path(tempfile.mkdtemp(prefix="bdg-test-s3-taken-restart-"))
    stack = start_embedded(home, postgres=False, nats=False, s3=True)
    squatter = socket.socket()
    try:
        assert stack.s3_pid
        ports = json.loads((home / "s3.json").read_text())["ports"]
        [server] = [s for s in stack.servers() if s.name == "s3"]
        os.kill(stack.s3_pid, signal.SIGKILL)
        wait_until(lambda: not server.alive(), 10, "the killed SeaweedFS seen dead")
        # Its leader thread is a zombie before the last of its threads has let go of the ports.
        wait_until(lambda: _bound(squatter, ports[2]), 10, "the killed server's port freed")
        squatter.listen()
        with pytest.raises(embedded_s3.PortTaken, match="address already in use"):
            server.restart()
        assert json.loads((home / "s3.json").read_text())["ports"] == ports
    finally:
        squatter.close()
        stack.stop()
        shutil.rmtree(home, ignore_errors=True)
    assert _weeds_of(home) == []

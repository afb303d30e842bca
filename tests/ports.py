"""A free TCP port on 127.0.0.1 for a server a test starts: below the kernel's ephemeral range
(listen_ports.py), so a server a test stops and starts again finds its port still free."""

from __future__ import annotations

from bdg_runtime.listen_ports import free_ports


def free_port() -> int:
    return free_ports(1)[0]

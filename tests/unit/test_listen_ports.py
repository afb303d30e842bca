import random
import socket
from pathlib import Path

import pytest

from bdg_runtime.listen_ports import below_ephemeral, free_ports


def test_the_ports_lie_below_the_kernels_ephemeral_range() -> None:
    ports = free_ports(8)
    assert len(set(ports)) == 8
    text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
    start = int(text.split()[0])
    assert all(10_000 <= p < start for p in ports), ports
    for port in ports:  # each is free to listen on
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_a_taken_port_is_never_chosen() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        [chosen] = free_ports(1, among=range(port, port + 1))  # only the taken one to pick
    assert chosen != port


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("32768\t60999\n", range(10_000, 32768)),
        ("10500 60999", None),  # too few ports below the range: the kernel chooses
        ("", None),
        ("garbage", None),
    ],
)
def test_the_range_below_the_ephemeral_one(text: str, expected: range | None) -> None:
    assert below_ephemeral(text) == expected


def test_a_reseeded_module_generator_does_not_repeat_the_choice() -> None:
    # Processes whose `random` is seeded alike (xdist workers under pytest-randomly) must not
    # all pick the same ports.
    random.seed(7)
    first = free_ports(4)
    random.seed(7)
    assert free_ports(4) != first

"""The in-sandbox forwarder, run here as a plain subprocess (on the host's network, on a free
port), and what egress_wrap asks the backends to run."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bdg_sandboxd import forwarder
from bdg_sandboxd.backend import RunSpec
from bdg_sandboxd.egress import EgressProxy
from bdg_sandboxd.egress_wrap import FORWARDER_SCRIPT, wrap

pytestmark = pytest.mark.timeout(60)
FORWARDER = str(Path(forwarder.__file__))
# The child's way to its proxy: the port comes from the environment the forwarder set.
PROXY_PORT = "import os; port = int(os.environ['HTTPS_PROXY'].rsplit(':', 1)[1])\n"


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="bdg-fwd-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


class Echo:
    """A unix-socket server standing in for the proxy: echoes, and tells when it saw EOF."""

    def __init__(self) -> None:
        self.eof = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        self.eof.set()
        writer.close()


@pytest.fixture
async def echo_socket(socket_dir: Path) -> AsyncIterator[tuple[Path, Echo]]:
    echo, path = Echo(), socket_dir / "echo.sock"
    server = await asyncio.start_unix_server(echo.handle, path=str(path))
    yield path, echo
    server.close()


async def start(target: Path, code: str, *listen: str) -> asyncio.subprocess.Process:
    options = list(listen) or ["--listen", "127.0.0.1:0"]
    return await asyncio.create_subprocess_exec(
        sys.executable, "-I", FORWARDER, *options, str(target), "--", sys.executable, "-c", code,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def run(target: Path, code: str, *listen: str) -> tuple[int, str, str]:
    process = await start(target, code, *listen)
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("pass", 0),
        ("raise SystemExit(7)", 7),
        ("import os, signal; os.kill(os.getpid(), signal.SIGTERM)", 128 + signal.SIGTERM),
        ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", 128 + signal.SIGKILL),
    ],
)
async def test_the_commands_exit_status_is_ours(socket_dir: Path, code: str, status: int) -> None:
    assert (await run(socket_dir / "none.sock", code))[0] == status


async def test_the_command_gets_the_proxy_environment(socket_dir: Path) -> None:
    code = "import json, os; print(json.dumps(dict(os.environ)))"
    status, out, _ = await run(socket_dir / "none.sock", code)
    env = json.loads(out)
    url = env["HTTPS_PROXY"]
    assert status == 0
    assert url.startswith("http://127.0.0.1:")
    assert not url.endswith(":0")
    assert {name: env[name] for name in forwarder.PROXY_VARIABLES} == dict.fromkeys(
        forwarder.PROXY_VARIABLES, url
    )
    assert env["NO_PROXY"] == env["no_proxy"] == "localhost,127.0.0.1,::1"
    assert env["PATH"] == os.environ["PATH"]  # the rest passes through


async def test_connections_are_relayed_both_ways_with_half_close(
    echo_socket: tuple[Path, Echo],
) -> None:
    path, echo = echo_socket
    code = PROXY_PORT + (
        "import socket\n"
        "payload = bytes(range(256)) * 4096\n"
        "s = socket.create_connection(('127.0.0.1', port))\n"
        "s.sendall(payload)\n"
        "s.shutdown(socket.SHUT_WR)\n"
        "got = b''\n"
        "while data := s.recv(65536):\n"
        "    got += data\n"
        "print('same' if got == payload else f'differs: {len(got)} bytes')\n"
    )
    status, out, err = await run(path, code)
    assert (status, out.strip()) == (0, "same"), err
    assert echo.eof.is_set()


async def test_an_unreachable_proxy_is_a_bad_gateway(socket_dir: Path) -> None:
    code = PROXY_PORT + (
        "import socket\n"
        "s = socket.create_connection(('127.0.0.1', port))\n"
        "s.sendall(b'CONNECT pypi.org:443 HTTP/1.1\\r\\n\\r\\n')\n"
        "print(s.makefile('rb').readline().decode().strip())\n"
    )
    status, out, _ = await run(socket_dir / "missing.sock", code)
    assert (status, out.strip()) == (0, "HTTP/1.1 502 Bad Gateway")


async def test_through_the_egress_proxy_registries_answer_and_others_are_refused(
    socket_dir: Path,
) -> None:
    code = (
        "import urllib.request, urllib.error\n"
        "print(urllib.request.urlopen('https://registry.npmjs.org/is-number', timeout=20).status)\n"
        "try:\n"
        "    urllib.request.urlopen('https://example.com/', timeout=20)\n"
        "except urllib.error.URLError as error:\n"
        "    print(error.reason)\n"
    )
    async with EgressProxy(socket_dir / "egress.sock", ["registry.npmjs.org"]) as proxy:
        status, out, err = await run(proxy.socket_path, code)
    assert status == 0, err
    assert out.splitlines() == ["200", "Tunnel connection failed: 403 Forbidden"]


async def test_signals_are_passed_to_the_command(socket_dir: Path) -> None:
    code = (
        "import signal, sys\n"
        "signal.signal(signal.SIGTERM, lambda *_: sys.exit(42))\n"
        "print('ready', flush=True)\n"
        "signal.pause()\n"
    )
    process = await start(socket_dir / "none.sock", code)
    assert process.stdout is not None
    assert await asyncio.wait_for(process.stdout.readline(), 20) == b"ready\n"
    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), 20) == 42


async def test_it_exits_with_the_command_while_a_relay_is_still_open(
    echo_socket: tuple[Path, Echo],
) -> None:
    path, _ = echo_socket
    code = PROXY_PORT + (
        "import socket, subprocess, sys\n"
        "s = socket.create_connection(('127.0.0.1', port))\n"
        "s.sendall(b'x'); s.recv(1)\n"
        "holder = subprocess.Popen([sys.executable, '-c', 'import signal; signal.pause()'],\n"
        "    pass_fds=[s.fileno()], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(holder.pid)\n"
    )
    status, out, err = await run(path, code)
    os.kill(int(out), signal.SIGKILL)  # the grandchild that kept the connection open
    assert status == 0, err


async def test_a_missing_command_is_127(socket_dir: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, FORWARDER, "--listen", "127.0.0.1:0", str(socket_dir / "s"), "--",
        "/nonexistent/command", stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 127
    assert b"command not found: /nonexistent/command" in err


@pytest.mark.parametrize(
    "args",
    [
        ["s.sock", "true"],
        ["s.sock", "--"],
        ["--", "true"],
        ["--listen", "3128", "s.sock", "--", "true"],
        ["--listen", "127.0.0.1:99999", "s.sock", "--", "true"],
    ],
)
async def test_a_bad_command_line_is_2(args: list[str]) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, FORWARDER, *args, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 2
    assert b"usage: " in err


async def test_a_taken_listen_address_is_125(socket_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, _, err = await run(socket_dir / "s", "pass", "--listen", f"127.0.0.1:{port}")
    assert status == 125
    assert f"cannot listen on 127.0.0.1:{port}" in err


def spec(**fields: Any) -> RunSpec:
    return RunSpec(
        run_id="r1", argv=["npm", "install"], workspace=Path("/w"), env={"CI": "1"}, **fields
    )


def test_without_network_the_command_runs_as_is() -> None:
    wrapped = wrap(spec())
    assert (wrapped.argv, wrapped.env, wrapped.mounts) == (["npm", "install"], {"CI": "1"}, [])


def test_the_registry_policy_needs_the_proxy_socket() -> None:
    with pytest.raises(ValueError, match="proxy_socket"):
        wrap(spec(network="registry"))


def test_with_the_registry_policy_the_command_runs_under_the_forwarder() -> None:
    wrapped = wrap(spec(network="registry", proxy_socket=Path("/state/egress/r1.sock")))
    assert wrapped.argv == [
        "python3", "-I", "/run/bdg-forwarder.py", "/run/bdg-proxy.sock", "--", "npm", "install",
    ]  # fmt: skip
    assert wrapped.env["CI"] == "1"
    for name in [*forwarder.PROXY_VARIABLES]:
        assert wrapped.env[name] == "http://127.0.0.1:3128"
    assert wrapped.mounts == [
        (FORWARDER_SCRIPT, "/run/bdg-forwarder.py", True),
        (Path("/state/egress/r1.sock"), "/run/bdg-proxy.sock", True),
    ]
    assert FORWARDER_SCRIPT.is_file()

"""The allow-list egress proxy, over real unix sockets: a real TLS tunnel to the npm registry,
refusals of everything else, limits, timeouts, and closing both sides of a tunnel."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bdg_contracts.sandbox import Limits
from bdg_sandboxd.backend import Backend, RunResult, RunSpec
from bdg_sandboxd.backends import backend_classes
from bdg_sandboxd.egress import EgressProxy
from bdg_sandboxd.settings import SandboxSettings as Settings
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(60)
REGISTRY = "registry.npmjs.org"


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    # Short: a unix socket path must stay under 108 bytes (tmp_path can be longer).
    path = Path(tempfile.mkdtemp(prefix="bdg-egress-"))
    path.chmod(0o755)  # bwrap binds the socket in as the sandbox's user: it must reach it
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def proxy(socket_dir: Path) -> AsyncIterator[EgressProxy]:
    async with EgressProxy(socket_dir / "proxy.sock", [REGISTRY, "pypi.org"]) as started:
        yield started


class Echo:
    """An upstream on 127.0.0.1 that echoes and tells when a connection reached EOF."""

    def __init__(self) -> None:
        self.eof = asyncio.Event()
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        self.eof.set()
        writer.close()

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])


@pytest.fixture
async def echo() -> AsyncIterator[Echo]:
    upstream = Echo()
    upstream.server = await asyncio.start_server(upstream.handle, "127.0.0.1", 0)
    yield upstream
    upstream.server.close()


def local_proxy(socket_dir: Path, port: int, **options: Any) -> EgressProxy:
    """A proxy whose allow-list leads to this machine's loopback, on the echo server's port."""
    return EgressProxy(
        socket_dir / "local.sock", ["localhost"], port=port, allow_internal=True, **options
    )


def active_is(proxy: EgressProxy, count: int) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        return proxy.active == count

    return probe


async def request(
    proxy: EgressProxy, head: bytes
) -> tuple[str, asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_unix_connection(str(proxy.socket_path))
    writer.write(head)
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), 20)
    while (await asyncio.wait_for(reader.readline(), 20)) not in (b"\r\n", b""):
        pass  # the rest of the response head
    return status.decode().strip(), reader, writer


async def tunnel(
    proxy: EgressProxy, target: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    status, reader, writer = await request(proxy, f"CONNECT {target} HTTP/1.1\r\n\r\n".encode())
    assert status == "HTTP/1.1 200 Connection established"
    return reader, writer


async def https_get(proxy: EgressProxy, host: str, path: str) -> str:
    reader, writer = await tunnel(proxy, f"{host}:443")
    await writer.start_tls(ssl.create_default_context(), server_hostname=host)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    status = await asyncio.wait_for(reader.readline(), 20)
    writer.close()
    return status.decode().strip()


async def test_a_registry_is_reached_through_a_real_tls_tunnel(
    proxy: EgressProxy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bdg_sandboxd.egress")
    assert await https_get(proxy, REGISTRY, "/is-number") == "HTTP/1.1 200 OK"
    assert f"allow CONNECT {REGISTRY}:443" in caplog.text


async def test_concurrent_tunnels_to_the_registry(proxy: EgressProxy) -> None:
    statuses = await asyncio.gather(*(https_get(proxy, REGISTRY, "/is-number") for _ in range(4)))
    assert statuses == ["HTTP/1.1 200 OK"] * 4


@pytest.mark.parametrize(
    ("head", "reason"),
    [
        (b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", "allow-list"),
        (b"CONNECT 1.1.1.1:443 HTTP/1.1\r\n\r\n", "allow-list"),
        (b"CONNECT [::1]:443 HTTP/1.1\r\n\r\n", "allow-list"),
        (b"CONNECT registry.npmjs.org:22 HTTP/1.1\r\n\r\n", "port '22'"),
        (b"CONNECT registry.npmjs.org:0443 HTTP/1.1\r\n\r\n", "port '0443'"),
        (b"CONNECT registry.npmjs.org.evil.com:443 HTTP/1.1\r\n\r\n", "allow-list"),
        (b"CONNECT evil.registry.npmjs.org:443 HTTP/1.1\r\n\r\n", "allow-list"),
        (b"CONNECT registry.npmjs.org.:443 HTTP/1.1\r\n\r\n", "allow-list"),
        (b"CONNECT user@registry.npmjs.org:443 HTTP/1.1\r\n\r\n", "allow-list"),
        (b"CONNECT registry.npmjs.org HTTP/1.1\r\n\r\n", "host:port"),
        (b"GET http://registry.npmjs.org/ HTTP/1.1\r\nHost: registry.npmjs.org\r\n\r\n", "only"),
        (b"GET / HTTP/1.1\r\nHost: registry.npmjs.org\r\n\r\n", "only CONNECT"),
        (b"CONNECT registry.npmjs.org:443 HTTP/2.0\r\n\r\n", "HTTP/1.x"),
        (b"hello there\r\n\r\n", "HTTP/1.x"),
        (b"\x16\x03\x01\x02\x00\xff\xfe\r\n\r\n", "not ASCII"),
        (b"CONNECT " + b"a" * 20_000 + b".org:443 HTTP/1.1\r\n\r\n", "over 8192 bytes"),
        (b"CONNECT registry.npmjs.org:443 HTTP/1.1\r\n" + b"X: y\r\n" * 2000 + b"\r\n", "over"),
    ],
)
async def test_everything_else_is_refused_with_a_reason(
    proxy: EgressProxy, head: bytes, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    status, reader, writer = await request(proxy, head)
    assert status == "HTTP/1.1 403 Forbidden"
    body = await asyncio.wait_for(reader.read(), 10)  # and then the proxy closes
    assert reason in body.decode()
    assert body.count(b"\n") == 1
    assert f"deny: {body.decode().strip()}" in caplog.text
    writer.close()
    await eventually(active_is(proxy, 0), 5, "the connection to be let go")


async def test_a_client_that_says_nothing_is_refused_after_the_head_timeout(
    socket_dir: Path,
) -> None:
    async with EgressProxy(socket_dir / "p.sock", [REGISTRY], head_timeout=0.2) as proxy:
        status, reader, writer = await request(proxy, b"CONNECT registry.npmjs.org:443")
        assert status == "HTTP/1.1 403 Forbidden"
        assert b"no request within 0.2s" in await asyncio.wait_for(reader.read(), 10)
        writer.close()


async def test_an_allowed_name_that_resolves_to_loopback_is_refused(
    socket_dir: Path, echo: Echo
) -> None:
    async with EgressProxy(socket_dir / "p.sock", ["localhost"], port=echo.port) as proxy:
        status, reader, writer = await request(
            proxy, f"CONNECT localhost:{echo.port} HTTP/1.1\r\n\r\n".encode()
        )
        assert status == "HTTP/1.1 403 Forbidden"
        assert b"internal addresses" in await asyncio.wait_for(reader.read(), 10)
        writer.close()


async def test_an_unreachable_upstream_is_a_bad_gateway(socket_dir: Path) -> None:
    with socket.socket() as bound:  # bound, not listening: connections to it are refused
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        async with local_proxy(socket_dir, port) as proxy:
            status, reader, writer = await request(
                proxy, f"CONNECT localhost:{port} HTTP/1.1\r\n\r\n".encode()
            )
            assert status == "HTTP/1.1 502 Bad Gateway"
            assert b"cannot connect to localhost" in await asyncio.wait_for(reader.read(), 10)
            writer.close()


async def test_a_client_disconnect_closes_the_upstream(socket_dir: Path, echo: Echo) -> None:
    async with local_proxy(socket_dir, echo.port) as proxy:
        reader, writer = await tunnel(proxy, f"localhost:{echo.port}")
        writer.write(b"ping")
        assert await asyncio.wait_for(reader.readexactly(4), 10) == b"ping"
        writer.close()
        await asyncio.wait_for(echo.eof.wait(), 10)
        await eventually(active_is(proxy, 0), 5, "the tunnel to close")


async def test_an_upstream_close_closes_the_client(socket_dir: Path, echo: Echo) -> None:
    async with local_proxy(socket_dir, echo.port) as proxy:
        reader, writer = await tunnel(proxy, f"localhost:{echo.port}")
        writer.write(b"last words")
        writer.write_eof()  # half-close: the echo server answers, sees EOF and closes
        assert await asyncio.wait_for(reader.read(), 10) == b"last words"
        await eventually(active_is(proxy, 0), 5, "the tunnel to close")
        writer.close()


async def test_bulk_data_goes_through_both_ways(socket_dir: Path, echo: Echo) -> None:
    payload = bytes(range(256)) * 8192  # 2 MiB, far over the buffers
    async with local_proxy(socket_dir, echo.port) as proxy:
        reader, writer = await tunnel(proxy, f"localhost:{echo.port}")

        async def send() -> None:
            writer.write(payload)
            await writer.drain()
            writer.write_eof()

        sent = asyncio.create_task(send())
        assert await asyncio.wait_for(reader.read(), 20) == payload
        await sent
        writer.close()


async def test_an_idle_tunnel_is_closed(socket_dir: Path, echo: Echo) -> None:
    async with local_proxy(socket_dir, echo.port, idle_timeout=0.3) as proxy:
        reader, writer = await tunnel(proxy, f"localhost:{echo.port}")
        assert await asyncio.wait_for(reader.read(), 10) == b""
        await asyncio.wait_for(echo.eof.wait(), 10)
        writer.close()


async def test_tunnels_over_the_limit_are_refused_until_one_closes(
    socket_dir: Path, echo: Echo
) -> None:
    async with local_proxy(socket_dir, echo.port, max_tunnels=2) as proxy:
        target = f"localhost:{echo.port}"
        first = await tunnel(proxy, target)
        second = await tunnel(proxy, target)
        status, _, writer = await request(proxy, f"CONNECT {target} HTTP/1.1\r\n\r\n".encode())
        assert status == "HTTP/1.1 503 Service Unavailable"
        writer.close()
        first[1].close()
        await eventually(active_is(proxy, 1), 5, "the first tunnel to close")
        third = await tunnel(proxy, target)
        for _, open_writer in (second, third):
            open_writer.close()


async def test_close_ends_open_tunnels_and_removes_the_socket(socket_dir: Path, echo: Echo) -> None:
    proxy = local_proxy(socket_dir, echo.port)
    await proxy.start()
    reader, writer = await tunnel(proxy, f"localhost:{echo.port}")
    await asyncio.wait_for(proxy.close(), 10)
    assert await asyncio.wait_for(reader.read(), 10) == b""
    assert not proxy.socket_path.exists()
    writer.close()


@pytest.mark.parametrize("host", ["1.1.1.1", "127.1", "::1", "registry.npmjs.org:443", "*.org", ""])
def test_the_allow_list_takes_host_names_only(socket_dir: Path, host: str) -> None:
    with pytest.raises(ValueError, match="not host names"):
        EgressProxy(socket_dir / "p.sock", [host])


# -- end to end: a real sandbox with network="registry" ------------------------------------------
BACKENDS = ["bwrap", "runc"]
REGISTRY_ENV = {  # the workspace: writable by the sandbox's user with either backend
    "HOME": "/workspace",
    "npm_config_cache": "/workspace/.npm",
    "npm_config_update_notifier": "false",
}


def backend_or_skip(name: str) -> Backend:
    cls = backend_classes()[name]
    availability = cls.available()
    if not availability.ok:
        pytest.skip(f"{name}: {availability.reason}")
    return cls()


@pytest.fixture
async def registry_proxy(socket_dir: Path) -> AsyncIterator[EgressProxy]:
    async with EgressProxy(socket_dir / "egress.sock", Settings().sandbox_registries) as started:
        yield started


def python3_has_pip() -> bool:
    """Whether the python3 the sandbox finds (in the host's /usr) has pip."""
    python3 = shutil.which("python3", path="/usr/local/bin:/usr/bin")
    command = [python3 or "python3", "-m", "pip", "--version"]
    return python3 is not None and subprocess.run(command, capture_output=True).returncode == 0


@pytest.fixture
def workspace() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="bdg-ws-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def in_sandbox(
    backend: Backend, proxy: EgressProxy, workspace: Path, argv: list[str]
) -> tuple[RunResult, str, str]:
    output: dict[str, bytes] = {"stdout": b"", "stderr": b""}

    async def sink(stream: str, data: bytes) -> None:
        output[stream] += data

    spec = RunSpec(
        run_id=f"egress-{secrets.token_hex(6)}", argv=argv, workspace=workspace,
        env=REGISTRY_ENV, network="registry", proxy_socket=proxy.socket_path,
        limits=Limits(timeout_s=60),
    )  # fmt: skip
    result = await backend.run(spec, sink)
    return result, output["stdout"].decode(), output["stderr"].decode()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", BACKENDS)
async def test_in_a_sandbox_npm_reaches_the_registry(
    name: str, registry_proxy: EgressProxy, workspace: Path
) -> None:
    backend = backend_or_skip(name)
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    argv = ["npm", "view", "is-number", "version"]
    result, out, err = await in_sandbox(backend, registry_proxy, workspace, argv)
    assert result.code == 0, err
    assert re.fullmatch(r"\d+\.\d+\.\d+", out.strip())


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", BACKENDS)
async def test_in_a_sandbox_pip_downloads_from_pypi(
    name: str, registry_proxy: EgressProxy, workspace: Path
) -> None:
    backend = backend_or_skip(name)
    if not python3_has_pip():
        pytest.skip("python3 has no pip")
    argv = ["python3", "-m", "pip", "download", "--no-deps", "--no-cache-dir", "-d", "dl", "six"]
    result, _, err = await in_sandbox(backend, registry_proxy, workspace, argv)
    assert result.code == 0, err
    assert [p.name.split("-")[0] for p in (workspace / "dl").iterdir()] == ["six"]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", BACKENDS)
async def test_in_a_sandbox_other_hosts_and_direct_connections_fail(
    name: str, registry_proxy: EgressProxy, workspace: Path
) -> None:
    backend = backend_or_skip(name)
    result, _, err = await in_sandbox(
        backend, registry_proxy, workspace, ["curl", "-sS", "https://example.com/"]
    )
    assert (result.code, err.strip()) == (56, "curl: (56) CONNECT tunnel failed, response 403")
    fetch = "import urllib.request; urllib.request.urlopen('https://example.com/', timeout=20)"
    result, _, err = await in_sandbox(backend, registry_proxy, workspace, ["python3", "-c", fetch])
    assert result.code == 1
    assert "Tunnel connection failed: 403 Forbidden" in err
    # Around the proxy there is no way out: no DNS, and no route even to the registry's address.
    address = socket.getaddrinfo(REGISTRY, 443, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    direct = f"import socket; socket.create_connection(({address!r}, 443), timeout=10)"
    result, _, err = await in_sandbox(backend, registry_proxy, workspace, ["python3", "-c", direct])
    assert result.code == 1
    assert "Network is unreachable" in err
    argv = ["curl", "--noproxy", "*", "-sS", "--max-time", "10", f"https://{REGISTRY}/"]
    result, _, err = await in_sandbox(backend, registry_proxy, workspace, argv)
    assert result.code == 6, err  # could not resolve

"""The allow-list egress proxy of network="registry" sandboxes.

An HTTP CONNECT proxy on a unix socket. A sandbox has only ``lo``; the forwarder
(``forwarder.py``) relays its 127.0.0.1:3128 to this socket, so the only way out is a tunnel
opened here: ``CONNECT <host>:443`` where host is exactly in the allow-list (no suffixes, no IP
literals, no other port) and resolves to a public address. Everything else gets a 403 with a
one-line reason. Every decision is logged; tunnels are counted, bounded and closed when idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
import socket
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 8192  # request line + headers
CHUNK = 64 * 1024  # one read; with drain() it bounds what a tunnel holds per direction
LINGER_S = 2.0  # reading what a refused client still sends before closing
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")
# Where an allow-listed name must not lead (a poisoned or split-horizon DNS answer).
_INTERNAL = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4",
        "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8",
    )
)  # fmt: skip


@dataclass(frozen=True)
class Allowed:
    host: str
    port: int


@dataclass(frozen=True)
class Denied:
    reason: str


def decide(head: bytes, allowed_hosts: frozenset[str], port: int = 443) -> Allowed | Denied:
    """The policy, on a request head alone: only ``CONNECT <allowed host>:<port> HTTP/1.x``."""
    try:
        line = head.split(b"\r\n", 1)[0].decode("ascii")
    except UnicodeDecodeError:
        return Denied("the request line is not ASCII")
    parts = line.split(" ")
    if len(parts) != 3 or parts[2] not in ("HTTP/1.0", "HTTP/1.1"):
        return Denied("not an HTTP/1.x request line")
    method, target, _ = parts
    if method != "CONNECT":
        return Denied(f"only CONNECT is allowed, not {method[:16]!r}")
    host, colon, port_text = target.rpartition(":")
    if not colon or not host:
        return Denied("the CONNECT target must be host:port")
    if port_text != str(port):
        return Denied(f"port {port_text[:8]!r} is not allowed (only {port})")
    if host.lower() not in allowed_hosts:
        return Denied(f"host {host[:80]!r} is not in the allow-list")
    return Allowed(host.lower(), port)


def is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in _INTERNAL)


def _is_ip_literal(host: str) -> bool:
    try:
        socket.inet_aton(host)  # also the legacy forms getaddrinfo takes: 127.1, 0x7f.1, 2130706433
    except OSError:
        return False
    return True


class _Refused(Exception):
    """The upstream is not reachable (HTTP status and a one-line reason)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class _TunnelOver(Exception):
    """A tunnel ended other than by EOF (idle, stalled peer, reset)."""


class EgressProxy:
    def __init__(
        self,
        socket_path: Path,
        allowed_hosts: Sequence[str],
        *,
        port: int = 443,
        max_tunnels: int = 64,
        idle_timeout: float = 120.0,
        head_timeout: float = 10.0,
        connect_timeout: float = 10.0,
        allow_internal: bool = False,  # tests only: lets an allow-listed name be loopback
    ) -> None:
        hosts = [h.lower() for h in allowed_hosts]
        if bad := [h for h in hosts if not _HOSTNAME.match(h) or _is_ip_literal(h)]:
            raise ValueError(f"not host names (IP literals and ports are not allowed): {bad}")
        if len(bytes(socket_path)) >= 108:
            raise ValueError(f"unix socket path too long (>= 108 bytes): {socket_path}")
        self.socket_path = socket_path
        self.allowed_hosts = frozenset(hosts)
        self.port = port
        self.max_tunnels = max_tunnels
        self.idle_timeout = idle_timeout
        self.head_timeout = head_timeout
        self.connect_timeout = connect_timeout
        self.allow_internal = allow_internal
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def active(self) -> int:
        """Connections being served (reading a request or tunnelling)."""
        return len(self._connections)

    async def start(self) -> None:
        path = self.socket_path
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and stat.S_ISSOCK(path.stat().st_mode):
            path.unlink()  # a stale socket of an earlier run
        self._server = await asyncio.start_unix_server(
            self._handle, path=str(path), limit=MAX_HEAD_BYTES
        )
        # Sandboxes run as other (mapped) users; who may reach it is decided by the directory.
        path.chmod(0o666)
        log.info("egress proxy on %s for %s", path, ", ".join(sorted(self.allowed_hosts)))

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()

    async def __aenter__(self) -> EgressProxy:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        try:
            if len(self._connections) >= self.max_tunnels:
                log.warning("egress %s: refused, %d tunnels open", self.label, self.active)
                await _respond(reader, writer, 503, f"at most {self.max_tunnels} tunnels")
                return
            self._connections.add(task)
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            pass  # close() ends us (asyncio's server would log a cancelled handler as an error)
        except Exception:
            log.exception("egress %s: tunnel failed", self.label)
        finally:
            self._connections.discard(task)
            writer.close()

    @property
    def label(self) -> str:
        return self.socket_path.name

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.head_timeout)
        except asyncio.IncompleteReadError:
            log.info("egress %s: client left before a whole request", self.label)
            return
        except (asyncio.LimitOverrunError, ValueError):
            decision: Allowed | Denied = Denied(f"request head over {MAX_HEAD_BYTES} bytes")
        except TimeoutError:
            decision = Denied(f"no request within {self.head_timeout:g}s")
        else:
            decision = decide(head, self.allowed_hosts, self.port)
        if isinstance(decision, Denied):
            log.warning("egress %s: deny: %s", self.label, decision.reason)
            await _respond(reader, writer, 403, decision.reason)
            return
        target = f"{decision.host}:{decision.port}"
        try:
            upstream_reader, upstream_writer = await self._connect(decision)
        except _Refused as refused:
            log.warning("egress %s: deny CONNECT %s: %s", self.label, target, refused.reason)
            await _respond(reader, writer, refused.status, refused.reason)
            return
        log.info("egress %s: allow CONNECT %s", self.label, target)
        try:
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            ended = await self._pipe(reader, writer, upstream_reader, upstream_writer)
        finally:
            upstream_writer.close()
        log.info("egress %s: closed CONNECT %s (%s)", self.label, target, ended)

    async def _connect(self, allowed: Allowed) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                infos = await loop.getaddrinfo(allowed.host, allowed.port, type=socket.SOCK_STREAM)
                addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
                public = [a for a in addresses if self.allow_internal or not is_internal(a)]
                if not public:
                    raise _Refused(403, f"{allowed.host} resolves only to internal addresses")
                error: OSError | None = None
                for address in public:
                    try:
                        return await asyncio.open_connection(address, allowed.port, limit=CHUNK)
                    except OSError as failed:
                        error = failed
                raise _Refused(502, f"cannot connect to {allowed.host}:{allowed.port}: {error}")
        except TimeoutError:
            raise _Refused(
                504, f"no connection to {allowed.host} within {self.connect_timeout:g}s"
            ) from None
        except OSError as error:  # resolution failed
            raise _Refused(502, f"cannot resolve {allowed.host}: {error}") from None

    async def _pipe(
        self,
        client_reader: asyncio.StreamReader,
        client_writer: asyncio.StreamWriter,
        upstream_reader: asyncio.StreamReader,
        upstream_writer: asyncio.StreamWriter,
    ) -> str:
        """Copy both ways until both sides are done; an EOF is passed on as a half-close."""
        last = [asyncio.get_running_loop().time()]
        ended = "both sides done"
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._pump(client_reader, upstream_writer, last))
                group.create_task(self._pump(upstream_reader, client_writer, last))
        except* _TunnelOver as over:
            ended = str(over.exceptions[0])
        return ended

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, last: list[float]
    ) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    data = await asyncio.wait_for(source.read(CHUNK), self.idle_timeout)
                except TimeoutError:
                    if loop.time() - last[0] >= self.idle_timeout:
                        raise _TunnelOver(f"idle for {self.idle_timeout:g}s") from None
                    continue  # the other direction is busy
                if not data:
                    break
                last[0] = loop.time()
                sink.write(data)
                try:  # waits while the sink's buffer is over its high-water mark
                    await asyncio.wait_for(sink.drain(), self.idle_timeout)
                except TimeoutError:
                    raise _TunnelOver("the receiving side stopped reading") from None
            if sink.can_write_eof():
                sink.write_eof()
        except OSError as error:
            raise _TunnelOver(f"connection lost: {error}") from None


async def _respond(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, status: int, reason: str
) -> None:
    """Answer and close; what the client still sends is read for a moment first, because
    closing a socket with unread data resets the connection, and the answer with it."""
    phrases = {
        403: "Forbidden",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }
    body = (reason.replace("\r", " ").replace("\n", " ") + "\n").encode()
    head = (
        f"HTTP/1.1 {status} {phrases.get(status, 'Error')}\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode() + body)
    with contextlib.suppress(OSError, TimeoutError):
        await writer.drain()
        writer.write_eof()
        async with asyncio.timeout(LINGER_S):
            while await reader.read(CHUNK):
                pass

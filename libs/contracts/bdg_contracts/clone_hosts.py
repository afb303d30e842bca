"""Which hosts a clone URL may reach: the public internet, and what the operator allows.

A tenant names the URL; the indexer and sandboxd's git connect to it from inside our network.
Without this rule a job could make them reach PostgreSQL, NATS, a cloud's metadata service
(169.254.169.254) or anything on the LAN (SSRF). So every address a URL's host stands for must be
globally routable, unless the operator allows the host by name or its network
(``BDG_CLONE_ALLOW_HOSTS``, e.g. a LAN git server). Pure: the addresses come in as arguments
(clone_dns.py resolves them right before git runs).

IP literals are read as the C resolver reads them (``inet_aton``): ``2130706433``, ``0177.0.0.1``,
``0x7f.1`` and ``127.1`` are all 127.0.0.1 to git, so they are to us.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*)://", re.IGNORECASE)
_SCP = re.compile(r"^(?:[^@/]+@)?(\[[^\]]*\]|[^:/]+):(?!//)")
# Networks whose addresses carry an IPv4 address that the packet really goes to.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LOOPBACK = (ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1"))
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
DEFAULT_PORTS = {"https": 443, "http": 80, "git": 9418, "ssh": 22, "git+ssh": 22, "ssh+git": 22}


@dataclass(frozen=True)
class CloneTarget:
    """Where a clone URL connects: its scheme ("ssh" for ``user@host:path``), host and port."""

    scheme: str
    host: str
    port: int


def clone_target(url: str) -> CloneTarget | None:
    """The host a clone URL connects to; None for what is not a URL (a local path)."""
    if _SCHEME.match(url):
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.netloc.rsplit("@", 1)[-1]
        if host.startswith("["):  # urlsplit's hostname would drop an IPv6 zone's case
            host = host[1 : host.find("]")] if "]" in host else host[1:]
        else:
            host = host.split(":", 1)[0]
        try:
            port = parts.port
        except ValueError:
            port = None
        return CloneTarget(scheme, host.lower(), port or DEFAULT_PORTS.get(scheme, 0))
    match = _SCP.match(url)
    if match is None or url.startswith("/"):
        return None
    return CloneTarget("ssh", match[1].strip("[]").lower(), 22)


def ip_literal(host: str) -> Address | None:
    """The address ``host`` spells, in any form the resolver takes; None for a name."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])  # drop an IPv6 zone (fe80::1%eth0)
    except ValueError:
        pass
    if not re.fullmatch(r"[0-9a-fA-FxX.]+", host) or host.endswith(".."):
        return None
    try:  # decimal, octal, hex and short dotted forms, as getaddrinfo reads them
        return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
    except OSError:
        return None


def _embedded_v4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one delivers to (mapped, compatible, 6to4, NAT64), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (int(address) >> 32 == 0 and int(address) > 1):  # ::a.b.c.d
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: Address) -> bool:
    """Globally routable, and so are the IPv4 addresses it embeds."""
    inner = _embedded_v4(address)
    if inner is not None and not is_public(inner):
        return False
    site_local = isinstance(address, ipaddress.IPv6Address) and address.is_site_local
    return address.is_global and not address.is_multicast and not site_local


@dataclass(frozen=True)
class CloneHosts:
    """The operator's exceptions: host names (exact, any case) and networks a clone may reach."""

    names: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, text: str, where: str = "BDG_CLONE_ALLOW_HOSTS") -> CloneHosts:
        """``git.lan, 10.1.0.0/16, 127.0.0.1``: names and networks, by commas or spaces."""
        names: set[str] = set()
        networks: list[Network] = []
        for item in re.split(r"[,\s]+", text.strip()):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
                continue
            except ValueError:
                pass
            if not re.fullmatch(r"[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?", item):
                raise ValueError(f"{where}: {item!r} is neither a host name nor a network")
            names.add(item.lower().rstrip("."))
        return cls(frozenset(names), tuple(networks))

    def merged(self, other: CloneHosts) -> CloneHosts:
        return CloneHosts(self.names | other.names, (*self.networks, *other.networks))

    def allows_name(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.names

    def allows(self, address: Address) -> bool:
        if is_public(address):
            return True
        inner = _embedded_v4(address)
        return any(
            a.version == n.version and a in n
            for n in self.networks
            for a in (address, *([inner] if inner is not None else []))
        )

    def literal_problem(self, target: CloneTarget) -> str | None:
        """What is wrong with the host as written (before any DNS), or None."""
        if self.allows_name(target.host):
            return None
        address = ip_literal(target.host)
        if address is not None:
            return self.address_problem(target.host, [address])
        name = target.host.rstrip(".")
        loopback_allowed = any(self.allows(a) for a in _LOOPBACK)  # then its addresses decide
        if (name in _LOCAL_NAMES or name.endswith(".localhost")) and not loopback_allowed:
            return (
                f"the clone URL's host {target.host} is this machine; internal hosts are "
                "refused unless the operator allows them (BDG_CLONE_ALLOW_HOSTS)"
            )
        return None

    def address_problem(self, host: str, addresses: Iterable[Address]) -> str | None:
        """Why a host that stands for ``addresses`` may not be cloned from, or None."""
        if self.allows_name(host):
            return None
        found = list(addresses)
        if not found:
            return f"the clone URL's host {host} resolves to no address"
        bad = [a for a in found if not self.allows(a)]
        if not bad:
            return None
        shown = host if str(bad[0]) == host else f"{host} ({bad[0]})"
        return (
            f"the clone URL's host {shown} is an internal address (loopback, private, "
            "link-local or reserved); internal hosts are refused unless the operator allows "
            "them (BDG_CLONE_ALLOW_HOSTS)"
        )

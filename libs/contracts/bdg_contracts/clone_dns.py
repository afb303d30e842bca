"""A clone URL's host resolved and judged right before git connects (clone_hosts.py's rule).

DNS can change between a job's creation and its fetch, so the indexer and sandboxd resolve the
host again just before git runs, and hold git to what was judged: ``http.followRedirects=false``
(a redirect is a new host nobody checked) and, for http(s), ``http.curloptResolve`` pinning the
host to the addresses found, so a second lookup by curl cannot answer otherwise. ssh and git://
resolve on their own a moment later; the window is that of one lookup.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bdg_contracts.clone_hosts import Address, CloneHosts, CloneTarget, clone_target, ip_literal
from bdg_contracts.sources import SourceError

NO_REDIRECTS = ("-c", "http.followRedirects=false")
LOOKUP_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class CheckedHost:
    """A clone URL's host and the addresses it was judged by."""

    target: CloneTarget
    addresses: tuple[Address, ...]

    def git_config(self) -> tuple[str, ...]:
        """git options that connect to the judged addresses only, following no redirect."""
        pinned: tuple[str, ...] = ()
        literal = ip_literal(self.target.host) is not None
        if self.target.scheme in ("http", "https") and self.addresses and not literal:
            spelled = ",".join(f"[{a}]" if a.version == 6 else str(a) for a in self.addresses)
            resolve = f"{self.target.host}:{self.target.port}:{spelled}"
            pinned = ("-c", f"http.curloptResolve={resolve}")
        return (*NO_REDIRECTS, *pinned)


def addresses_of(host: str) -> tuple[Address, ...]:
    """Every address ``host`` resolves to (as git's resolver would find them); () if none."""
    literal = ip_literal(host)
    if literal is not None:
        return (literal,)
    try:
        found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return ()
    return tuple(dict.fromkeys(ipaddress.ip_address(str(info[4][0])) for info in found))


def check_host(url: str, allow: CloneHosts, *, unresolved_ok: bool = False) -> CheckedHost | None:
    """The judged host of clone URL ``url`` (None: not a URL); SourceError("internal_host")
    when it is, or resolves to, an address the operator did not allow. ``unresolved_ok``: a
    host that does not resolve passes (at creation: the fetch judges it again)."""
    target = clone_target(url)
    if target is None:
        return None
    problem = allow.literal_problem(target)
    if problem is not None:
        raise SourceError("internal_host", problem)
    if allow.allows_name(target.host):
        return CheckedHost(target, ())
    addresses = addresses_of(target.host)
    if not addresses and unresolved_ok:
        return CheckedHost(target, ())
    problem = allow.address_problem(target.host, addresses)
    if problem is not None:
        rule = "internal_host" if addresses else "unresolved_host"
        raise SourceError(rule, problem)
    return CheckedHost(target, addresses)


@functools.cache
def _lookups() -> ThreadPoolExecutor:
    """Threads of their own for lookups: a request waits behind no database call for its DNS."""
    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="bdg-dns")


async def check_host_async(
    url: str,
    allow: CloneHosts,
    *,
    unresolved_ok: bool = False,
    timeout: float = LOOKUP_TIMEOUT_S,
) -> CheckedHost | None:
    """check_host without blocking the loop: a lookup runs in a thread, a literal does not. A
    lookup slower than ``timeout`` counts as no answer (a slow resolver does not hold up job
    creation; the fetch judges the host again)."""
    target = clone_target(url)
    if target is None or ip_literal(target.host) is not None or allow.allows_name(target.host):
        return check_host(url, allow, unresolved_ok=unresolved_ok)
    check = functools.partial(check_host, url, allow, unresolved_ok=unresolved_ok)
    lookup = asyncio.get_running_loop().run_in_executor(_lookups(), check)
    try:
        return await asyncio.wait_for(lookup, timeout)
    except TimeoutError:
        if unresolved_ok:
            return CheckedHost(target, ())
        raise SourceError(
            "unresolved_host", f"the clone URL's host {target.host} did not resolve in time"
        ) from None

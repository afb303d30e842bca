"""What a backend runs for a network policy: the command as is, or under the egress forwarder.

For network="registry" the sandbox gets the forwarder script and the egress proxy's unix socket
(both read-only) and runs ``python3 -I /run/bdg-forwarder.py /run/bdg-proxy.sock -- argv...``:
the command then reaches the allow-listed registries through HTTP(S)_PROXY and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bdg_sandboxd import forwarder
from bdg_sandboxd.backend import RunSpec

FORWARDER_SCRIPT = Path(forwarder.__file__)
FORWARDER_IN_SANDBOX = "/run/bdg-forwarder.py"
PROXY_SOCKET_IN_SANDBOX = "/run/bdg-proxy.sock"
PROXY_URL = f"http://{forwarder.DEFAULT_LISTEN}"


@dataclass
class Wrapped:
    argv: list[str]
    env: dict[str, str]
    mounts: list[tuple[Path, str, bool]]  # (host path, path in the sandbox, read-only)


def wrap(spec: RunSpec) -> Wrapped:
    if spec.network == "none":
        return Wrapped(list(spec.argv), dict(spec.env), [])
    if spec.proxy_socket is None:
        raise ValueError('network="registry" needs proxy_socket (the egress proxy\'s socket)')
    return Wrapped(
        argv=["python3", "-I", FORWARDER_IN_SANDBOX, PROXY_SOCKET_IN_SANDBOX, "--", *spec.argv],
        env={**spec.env, **forwarder.proxy_env(PROXY_URL)},
        mounts=[
            (FORWARDER_SCRIPT, FORWARDER_IN_SANDBOX, True),
            (spec.proxy_socket, PROXY_SOCKET_IN_SANDBOX, True),
        ],
    )

"""The edge's composition root: ``python -m bdg_deployer.edge.main`` (``bdg up`` starts it).

Listens on ``BDG_EDGE_HOST`` (default 127.0.0.1: the local provider is for this machine; 0.0.0.0
in a container) and ``BDG_EDGE_PORT`` (default 8790), reading its route table and artifacts from
the state dir the deployer writes to.
"""

from __future__ import annotations

import logging
import socket
import sys
from pathlib import Path

import uvicorn

from bdg_deployer.artifacts import ArtifactStore
from bdg_deployer.beacon.keys import BeaconSecretError, load_secret, secret_path
from bdg_deployer.edge.app import create_app
from bdg_runtime.settings import Settings

DEFAULT_PORT = 8790
log = logging.getLogger("bdg_edge")


def state_paths(home: Path) -> tuple[Path, Path]:
    """(route table, artifact store root) under the state dir: shared with the deployer."""
    root = home.expanduser().resolve()
    return root / "edge" / "routes.json", root / "artifacts"


def listen(port: int, host: str = "127.0.0.1") -> socket.socket:
    """The edge's socket; a port taken by another stack is a configuration error (exit 2:
    ``bdg up`` does not restart it in a loop)."""
    sock = socket.socket()
    try:
        sock.bind((host, port))
    except OSError as error:
        log.error("edge: port %d: %s; set BDG_EDGE_PORT to a free port", port, error)
        sys.exit(2)
    return sock


def run() -> None:
    logging.basicConfig(level=logging.INFO)
    settings = Settings()
    routes, artifacts = state_paths(settings.bdg_home)
    port = settings.bdg_edge_port
    try:
        secret = load_secret(secret_path(routes.parent))
    except (BeaconSecretError, OSError) as error:
        log.error("edge: %s", error)
        sys.exit(2)
    sock = listen(port, settings.bdg_edge_host)
    log.info("edge: http://<site>.localhost:%d/ serving %s", port, routes)
    app = create_app(routes, ArtifactStore(artifacts), secret=secret)
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    run()

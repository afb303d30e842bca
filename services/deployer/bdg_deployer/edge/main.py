"""The edge's composition root: ``python -m bdg_deployer.edge.main`` (``bdg up`` starts it).

Listens on 127.0.0.1 only (``BDG_EDGE_PORT``, default 8790): the local provider is for this
machine; reading its route table and artifacts from the state dir the deployer writes to.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from pathlib import Path

import uvicorn

from bdg_deployer.artifacts import ArtifactStore
from bdg_deployer.edge.app import create_app
from bdg_runtime.settings import Settings

DEFAULT_PORT = 8790
log = logging.getLogger("bdg_edge")


def state_paths(home: Path) -> tuple[Path, Path]:
    """(route table, artifact store root) under the state dir: shared with the deployer."""
    root = home.expanduser().resolve()
    return root / "edge" / "routes.json", root / "artifacts"


def listen(port: int) -> socket.socket:
    """The edge's socket; a port taken by another stack is a configuration error (exit 2:
    ``bdg up`` does not restart it in a loop)."""
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as error:
        log.error("edge: port %d: %s; set BDG_EDGE_PORT to a free port", port, error)
        sys.exit(2)
    return sock


def run() -> None:
    logging.basicConfig(level=logging.INFO)
    routes, artifacts = state_paths(Settings().bdg_home)
    port = int(os.environ.get("BDG_EDGE_PORT", DEFAULT_PORT))
    sock = listen(port)
    log.info("edge: http://<site>.localhost:%d/ serving %s", port, routes)
    app = create_app(routes, ArtifactStore(artifacts))
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    run()

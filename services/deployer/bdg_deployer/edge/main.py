"""The edge's composition root: ``python -m bdg_deployer.edge.main`` (``bdg up`` starts it).

Listens on 127.0.0.1 only (``BDG_EDGE_PORT``, default 8790): the local provider is for this
machine; reading its route table and artifacts from the state dir the deployer writes to.
"""

from __future__ import annotations

import logging
import os
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


def run() -> None:
    routes, artifacts = state_paths(Settings().bdg_home)
    port = int(os.environ.get("BDG_EDGE_PORT", DEFAULT_PORT))
    logging.basicConfig(level=logging.INFO)
    log.info("edge: http://<site>.localhost:%d/ serving %s", port, routes)
    app = create_app(routes, ArtifactStore(artifacts))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    run()

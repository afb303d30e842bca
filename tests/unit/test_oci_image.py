"""The site image built in pure Python: the same artifact is the same image, byte for byte, and
a server binary that could not run alone in an image is refused before anything is built."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest

from bdg_deployer.artifacts import ArtifactStore
from bdg_deployer.providers.oci_image import ServerBinaryError, site_image, static_architecture

pytestmark = pytest.mark.timeout(30)
BUSYBOX = Path("/bin/busybox")


def artifact(root: Path) -> tuple[ArtifactStore, str]:
    site = root / "site"
    (site / "js").mkdir(parents=True)
    (site / "index.html").write_text("<p>hi</p>")
    (site / "js" / "app.js").write_text("console.log(1)")
    store = ArtifactStore(root / "store")
    return store, store.put(site).digest


def test_the_same_artifact_is_the_same_image(tmp_path: Path) -> None:
    store, digest = artifact(tmp_path)
    first, again = site_image(store, digest, BUSYBOX), site_image(store, digest, BUSYBOX)
    assert first.manifest.data == again.manifest.data
    manifest = json.loads(first.manifest.data)
    assert [d["digest"] for d in manifest["layers"]] == [b.digest for b in first.layers]
    assert manifest["config"]["digest"] == first.config.digest
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(first.layers[1].data))) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert sorted(members) == ["site", "site/index.html", "site/js", "site/js/app.js"]
    assert {m.mtime for m in members.values()} == {0}
    assert {(m.uid, m.gid) for m in members.values()} == {(0, 0)}


def test_a_dynamically_linked_server_is_refused() -> None:
    with pytest.raises(ServerBinaryError, match="dynamically linked"):
        static_architecture(Path("/usr/bin/git").read_bytes())
    with pytest.raises(ServerBinaryError, match="not a little-endian ELF64"):
        static_architecture(b"#!/bin/sh\necho hi\n")
    assert static_architecture(BUSYBOX.read_bytes()) in ("amd64", "arm64")

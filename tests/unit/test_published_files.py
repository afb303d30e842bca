"""The files a provider publishes: the verified artifact's, plus what the deployer adds (the
client beacon of a cloud release), one of which replaces an artifact file of the same path."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bdg_deployer.artifacts import ArtifactStore
from bdg_deployer.beacon.script import PATH
from bdg_deployer.providers.files import ArtifactFiles

pytestmark = pytest.mark.timeout(10)


def test_added_files_sit_beside_the_artifact_and_replace_its_own(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "_bdg").mkdir(parents=True)
    (site / "index.html").write_text("<h1>hi</h1>")
    (site / PATH).write_text("the site's own, replaced")
    store = ArtifactStore(tmp_path / "artifacts")
    manifest = store.verify(store.put(site).digest)
    files = ArtifactFiles(manifest, store, {PATH: b"beacon();"})
    listed = {f.path: f for f in files}
    assert set(listed) == {"index.html", PATH}
    assert files.content(listed[PATH]) == b"beacon();"
    assert listed[PATH].sha256 == hashlib.sha256(b"beacon();").hexdigest()
    assert listed[PATH].size == len(b"beacon();")
    assert files.content(listed["index.html"]) == b"<h1>hi</h1>"
    assert set(manifest.files) == {"index.html", PATH}  # the artifact itself is untouched
    assert [f.path for f in ArtifactFiles(manifest, store)] == sorted(manifest.files)

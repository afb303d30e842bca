"""The files of a verified artifact, with the digests each provider names them by.

The artifact store keys blobs by sha256; Vercel and Netlify name files by sha1, Cloudflare Pages
by a BLAKE3 hash of the base64 content and the extension (Wrangler's ``hashFile``). Digests are
computed from the blob bytes, which ``ArtifactStore.verify`` has just re-hashed. ``added`` are
files the deployer publishes beside the artifact's own (the client beacon of a cloud release,
``beacon/publish.py``); one of them replaces an artifact file of the same path.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from blake3 import blake3

from bdg_deployer.artifacts import ArtifactStore, Manifest


@dataclass(frozen=True)
class ArtifactFile:
    path: str  # relative, posix: "index.html", "assets/app.js"
    sha256: str
    size: int


@dataclass(frozen=True)
class ArtifactFiles:
    manifest: Manifest
    store: ArtifactStore
    added: dict[str, bytes] = field(default_factory=dict)

    def __iter__(self) -> Iterator[ArtifactFile]:
        for path, entry in sorted(self.manifest.files.items()):
            if path not in self.added:
                yield ArtifactFile(path, entry.sha256, entry.size)
        for path, content in sorted(self.added.items()):
            yield ArtifactFile(path, hashlib.sha256(content).hexdigest(), len(content))

    def content(self, file: ArtifactFile) -> bytes:
        if file.path in self.added:
            return self.added[file.path]
        return self.store.blob(file.sha256).read_bytes()


def sha1_of(content: bytes) -> str:
    return hashlib.sha1(content, usedforsecurity=False).hexdigest()


def pages_hash(path: str, content: bytes) -> str:
    """Cloudflare Pages' asset key: blake3(base64(content) + extension), 32 hex digits."""
    extension = PurePosixPath(path).suffix.removeprefix(".")
    return blake3(base64.b64encode(content) + extension.encode()).hexdigest()[:32]

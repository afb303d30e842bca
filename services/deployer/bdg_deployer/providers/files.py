"""The files of a verified artifact, with the digests each provider names them by.

The artifact store keys blobs by sha256; Vercel and Netlify name files by sha1, Cloudflare Pages
by a BLAKE3 hash of the base64 content and the extension (Wrangler's ``hashFile``). Digests are
computed from the blob bytes, which ``ArtifactStore.verify`` has just re-hashed.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
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

    def __iter__(self) -> Iterator[ArtifactFile]:
        for path, entry in sorted(self.manifest.files.items()):
            yield ArtifactFile(path, entry.sha256, entry.size)

    def content(self, file: ArtifactFile) -> bytes:
        return self.store.blob(file.sha256).read_bytes()


def sha1_of(content: bytes) -> str:
    return hashlib.sha1(content, usedforsecurity=False).hexdigest()


def pages_hash(path: str, content: bytes) -> str:
    """Cloudflare Pages' asset key: blake3(base64(content) + extension), 32 hex digits."""
    extension = PurePosixPath(path).suffix.removeprefix(".")
    return blake3(base64.b64encode(content) + extension.encode()).hexdigest()[:32]

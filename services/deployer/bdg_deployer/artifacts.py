"""Content-addressed build artifacts: a blob per file by sha256, a manifest, the manifest's digest.

A folder under the state dir until the object store lands (the layout is the S3 one to come:
``blobs/<sha256>``, ``manifests/<digest>.json``). The digest is the sha256 of the canonical
manifest, so a release that names a digest names exactly its files; ``verify`` re-hashes every
file, and a manifest or file that is missing or altered is refused (``ArtifactError``), never
served.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 16
MAX_FILES = 20_000


class ArtifactError(Exception):
    """An artifact that is missing, altered, or not a site."""


@dataclass(frozen=True)
class Entry:
    sha256: str
    size: int


@dataclass(frozen=True)
class Manifest:
    files: dict[str, Entry]

    def canonical(self) -> bytes:
        body = {p: {"sha256": e.sha256, "size": e.size} for p, e in sorted(self.files.items())}
        return json.dumps({"files": body}, sort_keys=True, separators=(",", ":")).encode()

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()

    @property
    def size(self) -> int:
        return sum(e.size for e in self.files.values())

    @classmethod
    def parse(cls, raw: bytes) -> Manifest:
        files = json.loads(raw)["files"]
        return cls({p: Entry(str(e["sha256"]), int(e["size"])) for p, e in files.items()})


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


class ArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def blob(self, sha256: str) -> Path:
        return self.root / "blobs" / sha256[:2] / sha256

    def _manifest_path(self, digest: str) -> Path:
        return self.root / "manifests" / f"{digest}.json"

    def put(self, folder: Path) -> Manifest:
        """Store every regular file under ``folder``; symlinks are refused (they could point
        out of the build)."""
        files: dict[str, Entry] = {}
        for path in sorted(folder.rglob("*")):
            if path.is_symlink():
                raise ArtifactError(f"{path.relative_to(folder)} is a symlink")
            if not path.is_file():
                continue
            if len(files) >= MAX_FILES:
                raise ArtifactError(f"more than {MAX_FILES} files")
            sha = _hash_file(path)
            blob = self.blob(sha)
            if not blob.exists():
                _write_atomically(blob, path.read_bytes())
            files[path.relative_to(folder).as_posix()] = Entry(sha, path.stat().st_size)
        if "index.html" not in files:
            raise ArtifactError("no index.html at the top of the build")
        manifest = Manifest(files)
        _write_atomically(self._manifest_path(manifest.digest), manifest.canonical())
        return manifest

    def verify(self, digest: str) -> Manifest:
        """The manifest of ``digest`` with every file re-hashed; ``ArtifactError`` otherwise."""
        path = self._manifest_path(digest)
        if not path.is_file():
            raise ArtifactError(f"artifact {digest[:12]} has no manifest")
        raw = path.read_bytes()
        if hashlib.sha256(raw).hexdigest() != digest:
            raise ArtifactError(f"artifact {digest[:12]}: the manifest is altered")
        manifest = Manifest.parse(raw)
        for name, entry in manifest.files.items():
            blob = self.blob(entry.sha256)
            if not blob.is_file():
                raise ArtifactError(f"artifact {digest[:12]}: {name} is missing")
            if _hash_file(blob) != entry.sha256:
                raise ArtifactError(f"artifact {digest[:12]}: {name} is altered")
        return manifest

"""The browser check's screenshots, kept by content: ``<sha256>.png`` in the tester's artifact
folder (BDG_TEST_ARTIFACTS_DIR). The test outcome event names the digest, so the UI and issue
comments can link the picture of exactly that run, and a replay names the same file."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

DIGEST = re.compile(r"^[0-9a-f]{64}$")


class ScreenshotStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def put(self, png: bytes) -> str:
        """Keep ``png``; its digest. Written under a temporary name, then renamed: a reader
        never sees half a file."""
        digest = hashlib.sha256(png).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.folder, suffix=".part")
        with os.fdopen(fd, "wb") as out:
            out.write(png)
        os.replace(temporary, target)
        return digest

    def path(self, digest: str) -> Path:
        if not DIGEST.match(digest):  # never a path from elsewhere
            raise ValueError(f"not a screenshot digest: {digest[:80]!r}")
        return self.folder / f"{digest}.png"

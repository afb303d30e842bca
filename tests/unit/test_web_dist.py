"""The committed build of web/ (services/gateway/bdg_gateway/web_dist) is the build of web/ now.

The gateway's wheel ships the built files so no machine needs npm to run the app; this test is
what keeps them honest: change a source under web/ without `npm run build` and it fails.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from bdg_gateway.web_static import DIST

pytestmark = pytest.mark.timeout(30)
TOP = ("index.html", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts")
INITIAL_JS_GZIP_LIMIT = 80_000


def source_digest(web: Path) -> str:
    """The hash web/scripts/manifest.mjs writes: path NUL content NUL, over the sorted paths."""
    paths = [web / name for name in TOP] + [p for p in (web / "src").rglob("*") if p.is_file()]
    names = sorted(p.relative_to(web).as_posix() for p in paths)
    digest = hashlib.sha256()
    for name in names:
        if name.endswith((".test.ts", ".test.tsx")):
            continue
        digest.update(name.encode() + b"\0" + (web / name).read_bytes() + b"\0")
    return digest.hexdigest()


def test_the_build_is_of_the_current_sources(repo_root: Path) -> None:
    manifest = json.loads((DIST / "build-manifest.json").read_text())
    assert manifest["source_sha256"] == source_digest(repo_root / "web"), (
        "web/ changed since web_dist was built: run `npm ci && npm run build` in web/ and commit"
    )


def test_index_names_only_built_assets_and_no_inline_code() -> None:
    index = (DIST / "index.html").read_text()
    referenced = re.findall(r'(?:src|href)="(/assets/[^"]+)"', index)
    assert referenced, index
    for path in referenced:
        assert (DIST / path.lstrip("/")).is_file(), path
    # The Content-Security-Policy allows no inline script or style.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", index)
    assert "<style" not in index
    assert "style=" not in index


def test_the_first_page_loads_little_javascript() -> None:
    import gzip

    index = (DIST / "index.html").read_text()
    # The entry script and the modules it preloads: what the first page fetches.
    scripts = re.findall(
        r'(?:<script[^>]*src|modulepreload"[^>]*href)="(/assets/[^"]+\.js)"', index
    )
    size = sum(len(gzip.compress((DIST / s.lstrip("/")).read_bytes())) for s in scripts)
    assert 0 < size <= INITIAL_JS_GZIP_LIMIT, size

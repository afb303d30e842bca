"""The web app (``web/``, built into ``web_dist/``) served at ``/``, beside the API.

Client routes live under ``/app/`` so a page reload never meets an API route of the same path
(``/jobs/{id}`` is JSON); ``/`` and every ``/app/...`` answer the app's ``index.html``. Hashed
assets are cached for a year (their name changes with their content), ``index.html`` never.
Every answer carries a strict Content-Security-Policy: the build has no inline script; inline
style is allowed for Monaco's diff editor only (see the policy).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse

DIST = Path(__file__).parent / "web_dist"
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        # Monaco's diff editor (loaded with the Changes view) writes <style> elements and style
        # attributes as it lays out lines and themes tokens; it has no nonce hook. Inline style
        # is allowed, inline script never: injected CSS cannot run code.
        "style-src 'self' 'unsafe-inline'",
        "worker-src 'self'",  # Monaco computes diffs in its editor worker, a built asset
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",  # CSP 3: 'self' includes ws:/wss: to this host
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",  # Monaco's codicon font
    ".json": "application/json",
}
IMMUTABLE = "public, max-age=31536000, immutable"


def install(app: FastAPI, dist: Path = DIST) -> None:
    assets = (dist / "assets").resolve()

    async def index() -> FileResponse:
        page = dist / "index.html"
        if not page.is_file():
            raise HTTPException(503, "the web app is not built: run `npm run build` in web/")
        return FileResponse(page, headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})

    async def client_route(path: str) -> FileResponse:
        return await index()

    async def asset(path: str) -> FileResponse:
        file = (assets / path).resolve()
        if not file.is_relative_to(assets) or not file.is_file():
            raise HTTPException(404, f"no asset {path}")
        media_type = CONTENT_TYPES.get(file.suffix, "application/octet-stream")
        headers = {**SECURITY_HEADERS, "Cache-Control": IMMUTABLE}
        return FileResponse(file, media_type=media_type, headers=headers)

    for path, endpoint in (("/", index), ("/app", index), ("/app/{path:path}", client_route)):
        app.add_api_route(path, endpoint, methods=["GET"], include_in_schema=False)
    app.add_api_route("/assets/{path:path}", asset, methods=["GET"], include_in_schema=False)

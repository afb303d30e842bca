"""The Docker Hub / OCI provider: a site's artifact pushed as an image through the Registry
HTTP API v2 (the OCI Distribution Specification, github.com/opencontainers/distribution-spec
``spec.md``; Docker Hub and the CNCF distribution server implement it).

``push_site_image(artifact, target, auth) -> digest``: every blob is first asked for
(``HEAD /v2/<name>/blobs/<digest>``, "Checking if content exists in the registry") and uploaded
only when missing: ``POST /v2/<name>/blobs/uploads/`` then one ``PUT <location>?digest=`` with
the bytes ("Pushing a blob monolithically", POST then PUT), or, for a blob over ``chunk`` bytes,
``PATCH`` requests with ``Content-Range`` and a closing ``PUT`` ("Pushing a blob in chunks").
The manifest goes last (``PUT /v2/<name>/manifests/<tag>``, "Pushing Manifests") and the digest
the registry answers (``Docker-Content-Digest``) must be the one computed here.

A 401 is answered once with the credentials its challenge asks for (oci_auth.py); a 401 or 403
after that fails at once. 429 and 5xx are retried, honouring ``Retry-After`` (http_retry.py),
then fail.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import httpx

from bdg_deployer.artifacts import ArtifactStore
from bdg_deployer.providers.http_retry import request
from bdg_deployer.providers.oci_auth import (
    RegistryAuth,
    RegistryAuthError,
    authorization,
    message_of,
    parse_challenge,
)
from bdg_deployer.providers.oci_image import MANIFEST_TYPE, Blob, site_image

# The distribution spec's grammar: path components of lower-case alphanumerics and separators;
# a tag of at most 128 word characters, dots and dashes, not starting with either.
NAME = re.compile(
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*", re.ASCII
)
TAG = re.compile(r"\w[\w.-]{0,127}", re.ASCII)
CHUNK = 8 << 20
DOCKER_HUB = "https://registry-1.docker.io"


class RegistryError(Exception):
    """The registry refused the push, or answered what the spec does not allow."""


@dataclass(frozen=True)
class SiteArtifact:
    store: ArtifactStore
    digest: str  # the artifact manifest's digest (artifacts.py)


@dataclass(frozen=True)
class ImageTarget:
    """Where the image goes. ``registry`` is the operator's (Docker Hub unless set); ``repo``
    and ``tag`` the tenant's, checked against the spec's grammar before any request."""

    repo: str
    tag: str
    registry: str = DOCKER_HUB

    def __post_init__(self) -> None:
        if len(self.repo) > 255 or not NAME.fullmatch(self.repo):
            raise ValueError(f"repo {self.repo[:60]!r} is not a repository name (a-z0-9._-/)")
        if not TAG.fullmatch(self.tag):
            raise ValueError(f"tag {self.tag[:60]!r} is not a tag ([A-Za-z0-9_.-], <= 128)")


class Registry:
    """One push's session: its client, and the Authorization a challenge earned."""

    def __init__(
        self, client: httpx.AsyncClient, target: ImageTarget, auth: RegistryAuth | None
    ) -> None:
        self.client, self.target, self.auth = client, target, auth
        self.header: str | None = None
        self.base = f"{target.registry.rstrip('/')}/v2/{target.repo}"

    async def send(
        self, method: str, url: str, content: bytes = b"", headers: dict[str, str] | None = None
    ) -> httpx.Response:
        for challenged in (False, True):
            sent = dict(headers or {})
            if self.header:
                sent["Authorization"] = self.header
            answer = await request(self.client, method, url, content=content, headers=sent)
            if answer.status_code == 401 and not challenged:
                found = parse_challenge(answer.headers.get("www-authenticate", ""))
                self.header = await authorization(
                    self.client, self.target.registry, found, self.target.repo, self.auth
                )
                continue
            if answer.status_code in (401, 403):
                raise RegistryAuthError(f"registry {answer.status_code}: {message_of(answer)}")
            return answer
        raise AssertionError("unreachable")

    def _location(self, answer: httpx.Response) -> str:
        location = str(answer.headers.get("location", ""))
        if not location:
            raise RegistryError("the upload answer has no Location")
        return urljoin(f"{self.target.registry.rstrip('/')}/", location)

    async def has_blob(self, blob: Blob) -> bool:
        answer = await self.send("HEAD", f"{self.base}/blobs/{blob.digest}")
        return answer.status_code == 200

    async def upload(self, blob: Blob, chunk: int) -> None:
        started = _expect(await self.send("POST", f"{self.base}/blobs/uploads/"), 202)
        location = self._location(started)
        data = blob.data
        if len(data) > chunk:
            for start in range(0, len(data), chunk):
                part = data[start : start + chunk]
                headers = {
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"{start}-{start + len(part) - 1}",
                }
                answer = await self.send("PATCH", location, part, headers)
                location = self._location(_expect(answer, 202))
            data = b""
        joiner = "&" if "?" in location else "?"
        url = f"{location}{joiner}digest={blob.digest}"
        headers = {"Content-Type": "application/octet-stream"}
        _expect(await self.send("PUT", url, data, headers), 201)

    async def put_manifest(self, manifest: Blob) -> str:
        url = f"{self.base}/manifests/{self.target.tag}"
        headers = {"Content-Type": MANIFEST_TYPE}
        answer = _expect(await self.send("PUT", url, manifest.data, headers), 201)
        said = answer.headers.get("docker-content-digest", manifest.digest)
        if said != manifest.digest:
            raise RegistryError(f"the registry stored {said}, not the pushed {manifest.digest}")
        return manifest.digest

    async def manifest(self, digest: str) -> tuple[bytes, str]:
        """``GET /v2/<name>/manifests/<digest>`` ("Pulling manifests"): its bytes, checked
        against the digest asked for, and its media type."""
        headers = {"Accept": MANIFEST_TYPE}
        answer = _expect(
            await self.send("GET", f"{self.base}/manifests/{digest}", b"", headers), 200
        )
        if "sha256:" + hashlib.sha256(answer.content).hexdigest() != digest:
            raise RegistryError(f"the registry answered another manifest for {digest}")
        return answer.content, answer.headers.get("content-type", MANIFEST_TYPE)

    async def tagged(self, tag: str) -> str | None:
        """The digest ``tag`` points at (``HEAD`` of the manifest, ``Docker-Content-Digest``);
        None when no such tag."""
        headers = {"Accept": MANIFEST_TYPE}
        answer = await self.send("HEAD", f"{self.base}/manifests/{tag}", b"", headers)
        if answer.status_code == 404:
            return None
        said = _expect(answer, 200).headers.get("docker-content-digest")
        if not said:
            raise RegistryError(f"HEAD of tag {tag}: no Docker-Content-Digest")
        return str(said)

    async def point(self, tag: str, raw: bytes, media_type: str) -> str:
        """``PUT /v2/<name>/manifests/<tag>`` with an existing manifest's bytes: the tag now
        names that image (nothing is uploaded again; its blobs are in the repository)."""
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        url = f"{self.base}/manifests/{tag}"
        answer = _expect(await self.send("PUT", url, raw, {"Content-Type": media_type}), 201)
        said = answer.headers.get("docker-content-digest", digest)
        if said != digest:
            raise RegistryError(f"the registry stored {said}, not {digest}")
        return digest


def _expect(answer: httpx.Response, status: int) -> httpx.Response:
    if answer.status_code != status:
        raise RegistryError(
            f"{answer.request.method} {answer.request.url.path}: {answer.status_code} "
            f"{message_of(answer)}"
        )
    return answer


async def push_site_image(
    artifact: SiteArtifact,
    target: ImageTarget,
    auth: RegistryAuth | None,
    server: Path = Path("/bin/busybox"),
    chunk: int = CHUNK,
) -> str:
    """Push the artifact's image as ``target``; the manifest's digest (``sha256:...``).
    ``ArtifactError`` when the artifact is missing or altered: nothing is pushed then."""
    image = await asyncio.to_thread(site_image, artifact.store, artifact.digest, server)
    async with httpx.AsyncClient(timeout=60) as session:
        registry = Registry(session, target, auth)
        for blob in image.blobs:
            if not await registry.has_blob(blob):
                await registry.upload(blob, chunk)
        return await registry.put_manifest(image.manifest)

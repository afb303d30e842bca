"""The OCI provider against a real registry: Debian's ``docker-registry`` (the CNCF
distribution server) started per test (``tests/oci_registry.py``), anonymous or behind Docker's
token flow with a local token server. Every push is pulled back through the same Registry API v2
(OCI distribution spec "Pulling manifests", "Pulling blobs") and checked digest by digest; the
registry's own access log says which requests it got."""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import io
import json
import os
import secrets
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bdg_deployer.artifacts import ArtifactError, ArtifactStore
from bdg_deployer.providers.oci import ImageTarget, RegistryError, SiteArtifact, push_site_image
from bdg_deployer.providers.oci_auth import RegistryAuth, RegistryAuthError
from bdg_deployer.providers.oci_image import ENTRYPOINT, MANIFEST_TYPE
from tests.oci_registry import TokenServer, registry, token_server
from tests.ports import free_port
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(60)
USER, PASSWORD = "alice", "dckr_pat_" + secrets.token_hex(8)


def site_artifact(root: Path, extra: bytes = b"") -> SiteArtifact:
    site = root / "site-src"
    (site / "css").mkdir(parents=True)
    (site / "index.html").write_text("<h1>hello from the image</h1>\n")
    (site / "css" / "a.css").write_text("h1 { color: teal }\n")
    if extra:
        (site / "blob.bin").write_bytes(extra)
    store = ArtifactStore(root / "artifacts")
    return SiteArtifact(store, store.put(site).digest)


def push(*args: Any, **kwargs: Any) -> str:
    """The provider's push, from these synchronous tests (the registry is another process)."""
    return asyncio.run(push_site_image(*args, **kwargs))


def requests_seen(root: Path, method: str, part: str) -> int:
    """How many ``method`` requests whose path holds ``part`` the registry's access log shows."""
    log = (root / "registry.log").read_text()
    return sum(1 for line in log.splitlines() if f'"{method} ' in line and part in line)


def pull(url: str, repo: str, tag: str, headers: dict[str, str]) -> tuple[bytes, dict, list]:
    """The manifest by tag, the config and the layers' bytes, each checked against its digest."""
    with httpx.Client(base_url=f"{url}/v2/{repo}", headers=headers, timeout=10) as http:
        got = http.get(f"/manifests/{tag}", headers={"Accept": MANIFEST_TYPE})
        assert got.status_code == 200, got.text
        raw = got.content
        manifest = json.loads(raw)
        blobs = []
        for desc in [manifest["config"], *manifest["layers"]]:
            data = http.get(f"/blobs/{desc['digest']}", follow_redirects=True).content
            assert "sha256:" + hashlib.sha256(data).hexdigest() == desc["digest"]
            assert len(data) == desc["size"]
            blobs.append(data)
    return raw, json.loads(blobs[0]), blobs[1:]


def untar(layers: list[bytes], into: Path) -> None:
    for layer in layers:
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer))) as tar:
            tar.extractall(into, filter="tar")


@pytest.fixture(name="root")
def root_fixture(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture(name="tokens")
def tokens_fixture() -> Iterator[TokenServer]:
    with token_server(USER, PASSWORD) as server:
        yield server


def test_the_site_image_is_pushed_and_pulled_back_digest_by_digest(root: Path) -> None:
    artifact = site_artifact(root)
    with registry(root) as url:
        digest = push(artifact, ImageTarget("acme/site", "r1", url), None)
        raw, config, layers = pull(url, "acme/site", "r1", {})
        assert "sha256:" + hashlib.sha256(raw).hexdigest() == digest
        # the config names each layer by the digest of its uncompressed tar
        diff_ids = ["sha256:" + hashlib.sha256(gzip.decompress(x)).hexdigest() for x in layers]
        assert config["rootfs"]["diff_ids"] == diff_ids
        assert config["config"]["Entrypoint"] == ENTRYPOINT
        assert json.loads(raw)["annotations"] == {"dev.bigdaddyg.artifact": artifact.digest}
        untar(layers, root / "rootfs")
        assert (root / "rootfs/site/index.html").read_text() == "<h1>hello from the image</h1>\n"
        assert (root / "rootfs/site/css/a.css").read_text() == "h1 { color: teal }\n"
        assert os.access(root / "rootfs/bin/busybox", os.X_OK)
        uploads = requests_seen(root, "POST", "/blobs/uploads/")
        assert uploads == 3  # server layer, site layer, config

        # the same artifact again, under another tag: the same image, every blob skipped
        again = push(artifact, ImageTarget("acme/site", "r2", url), None)
        assert again == digest
        assert requests_seen(root, "POST", "/blobs/uploads/") == uploads
        assert requests_seen(root, "HEAD", "/blobs/sha256:") == 6


def test_a_blob_over_the_chunk_size_goes_up_in_chunks(root: Path) -> None:
    artifact = site_artifact(root, extra=secrets.token_bytes(200_000))  # gzip cannot shrink it
    with registry(root) as url:
        target = ImageTarget("acme/chunked", "v1", url)
        digest = push(artifact, target, None, chunk=64 << 10)
        assert requests_seen(root, "PATCH", "/blobs/uploads/") >= 5
        raw, _, layers = pull(url, "acme/chunked", "v1", {})
        assert "sha256:" + hashlib.sha256(raw).hexdigest() == digest
        untar(layers, root / "rootfs")
        assert len((root / "rootfs/site/blob.bin").read_bytes()) == 200_000


def test_docker_hubs_token_flow_earns_the_push(root: Path, tokens: TokenServer) -> None:
    artifact = site_artifact(root)
    with registry(root, tokens) as url:
        auth = RegistryAuth(USER, SecretStr(PASSWORD))
        digest = push(artifact, ImageTarget("acme/site", "v1", url), auth)
        assert tokens.asked[0] == {
            "scope": ["repository:acme/site:pull,push"],
            "service": ["registry.test"],
        }
        token = httpx.get(
            tokens.url,
            params={"service": "registry.test", "scope": "repository:acme/site:pull"},
            auth=(USER, PASSWORD),
        ).json()["token"]
        raw, _, _ = pull(url, "acme/site", "v1", {"Authorization": f"Bearer {token}"})
        assert "sha256:" + hashlib.sha256(raw).hexdigest() == digest


def test_wrong_credentials_fail_fast_with_the_servers_words(
    root: Path, tokens: TokenServer
) -> None:
    artifact = site_artifact(root)
    with registry(root, tokens) as url:
        bad = RegistryAuth(USER, SecretStr("wrong-" + PASSWORD))
        with pytest.raises(RegistryAuthError, match="401: incorrect username or password"):
            push(artifact, ImageTarget("acme/site", "v1", url), bad)
        assert len(tokens.asked) == 1  # no retry of a refusal
        with pytest.raises(RegistryAuthError, match=r"no username and password|token server 401"):
            push(artifact, ImageTarget("acme/site", "v1", url), None)
        assert requests_seen(root, "POST", "/blobs/uploads/") == 0


def test_credentials_never_go_to_a_plain_http_realm_elsewhere(
    root: Path, tokens: TokenServer
) -> None:
    """The registry names the token server: over http, only its own host may be it."""
    tokens.url = tokens.url.replace("127.0.0.1", "localhost")
    artifact = site_artifact(root)
    with registry(root, tokens) as url:
        auth = RegistryAuth(USER, SecretStr(PASSWORD))
        with pytest.raises(RegistryAuthError, match="neither https nor the registry's host"):
            push(artifact, ImageTarget("acme/site", "v1", url), auth)
    assert tokens.asked == []


def test_htpasswd_basic_auth_takes_the_credentials_directly(root: Path) -> None:
    artifact = site_artifact(root)
    with registry(root, basic=(USER, PASSWORD)) as url:
        digest = push(
            artifact, ImageTarget("acme/site", "v1", url), RegistryAuth(USER, SecretStr(PASSWORD))
        )
        raw, _, _ = pull(url, "acme/site", "v1", {"Authorization": basic(USER, PASSWORD)})
        assert "sha256:" + hashlib.sha256(raw).hexdigest() == digest
        bad = RegistryAuth(USER, SecretStr("wrong"))
        with pytest.raises(RegistryAuthError, match="registry 401"):
            push(artifact, ImageTarget("acme/other", "v1", url), bad)
        assert requests_seen(root, "POST", "/v2/acme/other/blobs/uploads/") == 0


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_a_token_server_503_is_retried_after_its_retry_after(
    root: Path, tokens: TokenServer
) -> None:
    tokens.failures_left = 2
    artifact = site_artifact(root)
    with registry(root, tokens) as url:
        auth = RegistryAuth(USER, SecretStr(PASSWORD))
        push(artifact, ImageTarget("acme/site", "v1", url), auth)
        assert len(tokens.asked) == 3
        assert requests_seen(root, "PUT", "/manifests/v1") == 1


def test_a_refused_upload_fails_with_the_registrys_words(root: Path) -> None:
    refused = r"POST /v2/acme/site/blobs/uploads/: 405 Method not allowed$"
    with registry(root, readonly=True) as url, pytest.raises(RegistryError, match=refused):
        push(site_artifact(root), ImageTarget("acme/site", "v1", url), None)


def test_an_altered_artifact_is_refused_before_any_request(root: Path) -> None:
    artifact = site_artifact(root)
    manifest = artifact.store.verify(artifact.digest)
    artifact.store.blob(manifest.files["css/a.css"].sha256).write_text("h1 { color: red }\n")
    with registry(root) as url:
        with pytest.raises(ArtifactError, match=r"css/a\.css is altered"):
            push(artifact, ImageTarget("acme/site", "v1", url), None)
        assert requests_seen(root, "", "/v2/acme") == 0


@pytest.mark.parametrize(
    ("repo", "tag", "field"),
    [
        ("Acme/Site", "v1", "repo"),
        ("acme/../x", "v1", "repo"),
        ("acme/site", "-v1", "tag"),
        ("acme/site", "v1\x00", "tag"),
        ("acme/site", "v1\n", "tag"),
        ("acme/site\n", "v1", "repo"),
        ("acme/site", "vé", "tag"),
        ("a" * 256, "v1", "repo"),
        ("acme/site", "t" * 129, "tag"),
    ],
)
def test_a_bad_repository_or_tag_is_refused_naming_the_field(
    repo: str, tag: str, field: str
) -> None:
    with pytest.raises(ValueError, match=f"^{field} "):
        ImageTarget(repo, tag, "http://127.0.0.1:1")


def test_the_pulled_image_serves_the_site(root: Path) -> None:
    """Unpacked and run as a container runtime would (its entrypoint as nobody, the port given
    as an argument after it, like ``docker run image -p N``): the site is served."""
    artifact = site_artifact(root)
    with registry(root) as url:
        push(artifact, ImageTarget("acme/site", "v1", url), None)
        _, config, layers = pull(url, "acme/site", "v1", {})
    rootfs = root / "rootfs"
    untar(layers, rootfs)
    port = free_port()
    user, group = config["config"]["User"].split(":")
    command = [
        *("bwrap", "--bind", str(rootfs), "/", "--proc", "/proc", "--dev", "/dev"),
        *("--unshare-user", "--uid", user, "--gid", group, "--unshare-pid", "--die-with-parent"),
        "--chdir",
        config["config"]["WorkingDir"],
        *config["config"]["Entrypoint"],
        "-p",
        f"127.0.0.1:{port}",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def serving() -> bool:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            return httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(serving, timeout=15, what="the image's server")
        page = httpx.get(f"http://127.0.0.1:{port}/css/a.css", timeout=2)
        assert page.status_code == 200
        assert page.text == "h1 { color: teal }\n"
    finally:
        proc.terminate()
        proc.wait(10)

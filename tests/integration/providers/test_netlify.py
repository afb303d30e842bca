"""The Netlify provider against a local server that follows Netlify's API documentation
(tests/fakes/netlify_api.py names each section): file-digest deploys uploading only what is
required, restore to publish and to roll back; 401, 429 with Retry-After, 5xx until it gives up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bdg_deployer.providers.base import ProviderAuthError, ProviderError
from bdg_deployer.providers.files import ArtifactFiles, sha1_of
from bdg_deployer.providers.http import ProviderApi
from bdg_deployer.providers.netlify import NetlifySite, NetlifyTarget, message_of
from tests.fakes.netlify_api import FakeNetlify
from tests.integration.providers.conftest import FAST, SITE, Sleeps, build_site

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(name="netlify")
def netlify_fixture() -> Iterator[FakeNetlify]:
    fake = FakeNetlify()
    yield fake
    fake.stop()


def target(fake: FakeNetlify, token: str = "", sleeps: Sleeps | None = None) -> NetlifyTarget:
    kwargs = {"sleep": sleeps} if sleeps else {}
    api = ProviderApi("netlify", fake.url, token or fake.token, message_of, FAST, **kwargs)
    return NetlifyTarget(api, NetlifySite(fake.site_id), poll_s=0)


async def test_digest_deploy_uploads_required_files_once(
    netlify: FakeNetlify, site: ArtifactFiles
) -> None:
    netlify.blobs[sha1_of(SITE["assets/logo.svg"])] = SITE["assets/logo.svg"]  # known already
    published = await target(netlify).publish("r-one", site)

    uploads = netlify.api.calls("PUT", "/api/v1/deploys/[^/]+/files/.+")
    assert sorted(r.path.rsplit("/files/", 1)[1] for r in uploads) == [
        "assets/app.js",
        "index.html",
    ]
    assert netlify.deploys[published.deployment_id]["draft"] is True  # a preview, not live
    assert netlify.published is None
    assert published.preview_url == f"https://{published.deployment_id}--site-0b5c.netlify.app/"


async def test_publish_then_restore_an_earlier_deploy(
    netlify: FakeNetlify, site: ArtifactFiles, tmp_path: Path
) -> None:
    shop = target(netlify)
    first = await shop.publish("r-one", site)
    await shop.promote(first.deployment_id)
    assert netlify.served() == SITE
    second = await shop.publish("r-two", build_site(tmp_path / "2", {"index.html": b"v2"}))
    await shop.promote(second.deployment_id)
    assert netlify.served() == {"index.html": b"v2"}

    await shop.roll_back(first.deployment_id)
    assert netlify.published == first.deployment_id
    assert netlify.served() == SITE
    assert not shop.capabilities.canary  # digest deploys are no branches to split


async def test_401_fails_fast_with_netlifys_message(
    netlify: FakeNetlify, site: ArtifactFiles
) -> None:
    with pytest.raises(ProviderAuthError) as raised:
        await target(netlify, token="expired").publish("r-one", site)
    assert raised.value.message == "Access Denied: your session has expired or is invalid"
    assert len(netlify.api.requests) == 1
    assert netlify.deploys == {}


async def test_429_waits_what_retry_after_says(
    netlify: FakeNetlify, site: ArtifactFiles, sleeps: Sleeps
) -> None:
    """Rate limiting: 429 with Retry-After; the upload is tried again and the deploy is ready."""
    body = {"code": 429, "message": "Rate limit exceeded"}
    netlify.api.fail("/files/index.html$", 429, body, {"Retry-After": "1"})
    published = await target(netlify, sleeps=sleeps).publish("r-one", site)
    assert sleeps.asked == [1.0]
    assert netlify.deploys[published.deployment_id]["state"] == "ready"


async def test_5xx_retried_then_fails(
    netlify: FakeNetlify, site: ArtifactFiles, sleeps: Sleeps
) -> None:
    netlify.api.fail("/restore$", 502, {"code": 502, "message": "Bad Gateway"}, times=10)
    shop = target(netlify, sleeps=sleeps)
    first = await shop.publish("r-one", site)
    with pytest.raises(ProviderError) as raised:
        await shop.promote(first.deployment_id)
    assert (raised.value.status, raised.value.message) == (502, "Bad Gateway")
    assert len(netlify.api.calls("POST", ".*/restore")) == FAST.attempts
    assert netlify.published is None


async def test_an_upload_failing_for_good_is_the_providers_error(
    netlify: FakeNetlify, site: ArtifactFiles, sleeps: Sleeps
) -> None:
    """Uploads run a few at a time; the one that fails is raised as itself (no group)."""
    netlify.api.fail("/files/assets/app.js$", 503, {"code": 503, "message": "Unavailable"}, times=9)
    with pytest.raises(ProviderError) as raised:
        await target(netlify, sleeps=sleeps).publish("r-one", site)
    assert (raised.value.status, raised.value.message) == (503, "Unavailable")
    assert netlify.published is None

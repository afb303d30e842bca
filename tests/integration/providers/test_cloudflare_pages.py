"""The Cloudflare Pages provider against a local server that follows the Cloudflare API's Pages
sections and Wrangler's Direct Upload calls (tests/fakes/cloudflare_api.py): assets uploaded by
key only when missing, a deployment per release, rollback; 403, 429 with Retry-After, 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bdg_deployer.providers.base import ProviderAuthError, ProviderError
from bdg_deployer.providers.cloudflare import PagesProject, PagesTarget, message_of
from bdg_deployer.providers.files import ArtifactFiles, pages_hash
from bdg_deployer.providers.http import ProviderApi
from tests.fakes.cloudflare_api import FakePages
from tests.integration.providers.conftest import FAST, SITE, Sleeps, build_site

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(name="pages")
def pages_fixture() -> Iterator[FakePages]:
    fake = FakePages()
    yield fake
    fake.stop()


def target(fake: FakePages, token: str = "", sleeps: Sleeps | None = None) -> PagesTarget:
    kwargs = {"sleep": sleeps} if sleeps else {}
    api = ProviderApi("cloudflare-pages", fake.url, token or fake.token, message_of, FAST, **kwargs)
    return PagesTarget(api, PagesProject(fake.account_id, fake.project), poll_s=0)


async def test_direct_upload_sends_missing_assets_only(
    pages: FakePages, site: ArtifactFiles
) -> None:
    logo = SITE["assets/logo.svg"]
    pages.assets[pages_hash("assets/logo.svg", logo)] = logo
    published = await target(pages).publish("r-one", site)

    uploaded = [
        item["key"] for r in pages.api.calls("POST", "/pages/assets/upload") for item in r.json()
    ]
    assert sorted(uploaded) == sorted(
        pages_hash(p, SITE[p]) for p in ("index.html", "assets/app.js")
    )
    assert pages.canonical == published.deployment_id  # live at once on the production branch
    assert pages.served() == SITE
    assert published.preview_url == f"https://{published.deployment_id[:8]}.shop.pages.dev/"


async def test_rollback_and_promote_an_earlier_deployment(
    pages: FakePages, site: ArtifactFiles, tmp_path: Path
) -> None:
    shop = target(pages)
    first = await shop.publish("r-one", site)
    await shop.promote(first.deployment_id)  # live already: nothing to do
    assert len(pages.api.calls("POST", ".*/rollback")) == 0
    second = await shop.publish("r-two", build_site(tmp_path / "2", {"index.html": b"v2"}))
    assert pages.served() == {"index.html": b"v2"}

    await shop.roll_back(first.deployment_id)
    assert pages.served() == SITE
    await shop.promote(second.deployment_id)  # forward again, no new deployment
    assert pages.canonical == second.deployment_id
    assert len(pages.deployments) == 2


async def test_403_fails_fast_with_cloudflares_message(
    pages: FakePages, site: ArtifactFiles
) -> None:
    with pytest.raises(ProviderAuthError) as raised:
        await target(pages, token="revoked").publish("r-one", site)
    assert (raised.value.status, raised.value.message) == (403, "10000: Authentication error")
    assert len(pages.api.requests) == 1
    assert pages.deployments == {}


async def test_429_waits_what_retry_after_says(
    pages: FakePages, site: ArtifactFiles, sleeps: Sleeps
) -> None:
    """API rate limits: 429 with Retry-After (seconds); the next try goes through."""
    body = {"success": False, "errors": [{"code": 971, "message": "Please wait"}], "result": None}
    pages.api.fail("/pages/assets/upload$", 429, body, {"Retry-After": "1"})
    published = await target(pages, sleeps=sleeps).publish("r-one", site)
    assert sleeps.asked == [1.0]
    assert pages.canonical == published.deployment_id


async def test_5xx_retried_then_fails(
    pages: FakePages, site: ArtifactFiles, sleeps: Sleeps
) -> None:
    body = {
        "success": False,
        "errors": [{"code": 10013, "message": "Internal error"}],
        "result": None,
    }
    pages.api.fail("/deployments$", 500, body, times=10)
    with pytest.raises(ProviderError) as raised:
        await target(pages, sleeps=sleeps).publish("r-one", site)
    assert (raised.value.status, raised.value.message) == (500, "10013: Internal error")
    assert len(pages.api.calls("POST", ".*/deployments")) == FAST.attempts
    assert pages.canonical is None

"""The Vercel provider against a local server that follows Vercel's REST API documentation
(tests/fakes/vercel_api.py names each section): files by digest, readyState, aliases, promote,
instant rollback, Rolling Releases; 401, 429 with Retry-After, 5xx until it gives up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bdg_contracts.release_events import CanaryStage
from bdg_deployer.providers.base import ProviderAuthError, ProviderError
from bdg_deployer.providers.files import ArtifactFiles, sha1_of
from bdg_deployer.providers.http import ProviderApi
from bdg_deployer.providers.vercel import VercelProject, VercelTarget, message_of
from tests.fakes.vercel_api import FakeVercel
from tests.integration.providers.conftest import FAST, SITE, Sleeps, build_site

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(name="vercel")
def vercel_fixture() -> Iterator[FakeVercel]:
    fake = FakeVercel()
    yield fake
    fake.stop()


def target(fake: FakeVercel, token: str = "", sleeps: Sleeps | None = None) -> VercelTarget:
    api = ProviderApi(
        "vercel",
        fake.url,
        token or fake.token,
        message_of,
        FAST,
        **({"sleep": sleeps} if sleeps else {}),
    )
    return VercelTarget(api, VercelProject("shop", alias_suffix="shop.example.com"), poll_s=0)


async def test_publish_uploads_only_missing_files_then_serves(
    vercel: FakeVercel, site: ArtifactFiles
) -> None:
    """Create a new deployment: files named by sha1; 400 missing_files lists what to upload."""
    shop = target(vercel)
    vercel.files[sha1_of(SITE["assets/logo.svg"])] = SITE["assets/logo.svg"]  # known already

    published = await shop.publish("r-one", site)

    uploads = vercel.api.calls("POST", "/v2/files")
    assert sorted(r.headers["x-vercel-digest"] for r in uploads) == sorted(
        sha1_of(SITE[p]) for p in ("index.html", "assets/app.js")
    )
    deployment = vercel.deployments[published.deployment_id]
    assert deployment["readyState"] == "READY"  # polled until ready
    assert deployment["files"] == SITE
    assert published.preview_url == "https://r-one.shop.example.com/"
    assert vercel.aliases["r-one.shop.example.com"] == published.deployment_id


async def test_promote_canary_stages_and_instant_rollback(
    vercel: FakeVercel, site: ArtifactFiles, tmp_path: Path
) -> None:
    shop = target(vercel)
    first = await shop.publish("r-one", site)
    await shop.promote(first.deployment_id)
    assert vercel.production == first.deployment_id

    second = await shop.publish("r-two", build_site(tmp_path / "2", {"index.html": b"v2"}))
    stages = (CanaryStage(percent=1), CanaryStage(percent=10))
    await shop.start_canary(second.deployment_id, stages)
    assert vercel.config is not None
    assert [s["targetPercentage"] for s in vercel.config["stages"]] == [1, 10, 100]
    await shop.advance_canary(second.deployment_id, 1)
    assert vercel.rolling is not None
    assert vercel.rolling.stage == 1
    await shop.promote(second.deployment_id, canary=True)
    assert vercel.production == second.deployment_id

    await shop.roll_back(first.deployment_id)
    assert vercel.production == first.deployment_id


async def test_rollback_during_canary_aborts_it(
    vercel: FakeVercel, site: ArtifactFiles, tmp_path: Path
) -> None:
    shop = target(vercel)
    first = await shop.publish("r-one", site)
    await shop.promote(first.deployment_id)
    second = await shop.publish("r-two", build_site(tmp_path / "2", {"index.html": b"v2"}))
    await shop.start_canary(second.deployment_id, (CanaryStage(percent=1),))
    await shop.roll_back(first.deployment_id)
    assert vercel.rolling is not None
    assert vercel.rolling.state == "ABORTED"
    assert vercel.production == first.deployment_id


async def test_401_fails_fast_with_vercels_message(vercel: FakeVercel, site: ArtifactFiles) -> None:
    with pytest.raises(ProviderAuthError) as raised:
        await target(vercel, token="wrong").publish("r-one", site)
    assert raised.value.status == 401
    assert raised.value.message == "The request is not authorized."
    assert len(vercel.api.requests) == 1  # no retry
    assert "wrong" not in str(raised.value)


async def test_429_waits_what_retry_after_says(
    vercel: FakeVercel, site: ArtifactFiles, sleeps: Sleeps
) -> None:
    """REST API / Rate limits: 429 with Retry-After; the next try succeeds."""
    body = {"error": {"code": "rate_limited", "message": "Too many requests"}}
    vercel.api.fail("^/v13/deployments$", 429, body, {"Retry-After": "1"})
    published = await target(vercel, sleeps=sleeps).publish("r-one", site)
    assert sleeps.asked[0] == 1.0
    assert published.deployment_id in vercel.deployments


async def test_5xx_retried_then_fails(
    vercel: FakeVercel, site: ArtifactFiles, sleeps: Sleeps
) -> None:
    body = {"error": {"code": "internal_server_error", "message": "An unexpected error"}}
    vercel.api.fail("^/v13/deployments$", 503, body, times=10)
    with pytest.raises(ProviderError) as raised:
        await target(vercel, sleeps=sleeps).publish("r-one", site)
    assert (raised.value.status, raised.value.message) == (503, "An unexpected error")
    assert len(vercel.api.calls("POST", "/v13/deployments")) == FAST.attempts
    assert sleeps.asked == [0.01, 0.02]  # exponential backoff, no Retry-After given
    assert vercel.deployments == {}


async def test_a_retry_after_longer_than_we_wait_fails_at_once(
    vercel: FakeVercel, site: ArtifactFiles, sleeps: Sleeps
) -> None:
    body = {"error": {"code": "rate_limited", "message": "Too many requests"}}
    vercel.api.fail("^/v13/deployments$", 429, body, {"Retry-After": "3600"})
    with pytest.raises(ProviderError, match="not waiting") as raised:
        await target(vercel, sleeps=sleeps).publish("r-one", site)
    assert raised.value.status == 429
    assert sleeps.asked == []

"""The sites API (issue 14 item 9) on real PostgreSQL: listings from the sites projection, a
site's releases with their figures, one-click promote and rollback, and what is refused (409
naming why, 404 for what is not the caller's, 422 naming the field) with nothing written."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bdg_contracts import release_events as rv
from bdg_jobs.site_commands import SiteCommands
from tests.gateway_stack import Keys, Stack, new_tenant
from tests.site_history import BuiltSite, project_sites, release, site_in_canary

pytestmark = pytest.mark.timeout(60)


async def built(stack: Stack, tenant: str) -> BuiltSite:
    site = await site_in_canary(stack.store, tenant)
    project_sites(stack.store, stack.database_url)
    return site


def by_id(releases: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in releases}


async def test_sites_and_releases_show_states_traffic_and_figures(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    site = await built(stack, tenant)
    listed = await client.get("/sites", headers=keys.headers(tenant))
    assert listed.status_code == 200, listed.text
    [shown] = listed.json()["sites"]
    assert shown["id"] == str(site.site_id)
    assert (shown["target"], shown["stable"]) == ("production", site.stable)
    assert shown["canary"] == {"release": site.canary, "percent": 10.0, "stage": 1, "stages": 2}
    assert shown["production_url"] == f"http://production-{site.site_id.hex[:8]}.localhost:8790/"

    answer = await client.get(f"/sites/{site.site_id}/releases", headers=keys.headers(tenant))
    assert answer.status_code == 200, answer.text
    assert answer.json()["site"] == shown
    releases = answer.json()["releases"]
    assert [r["id"] for r in releases] == [site.canary, site.stable]  # newest first
    canary, stable = releases
    assert (canary["state"], canary["traffic_percent"]) == ("canary", 10.0)
    assert (stable["state"], stable["traffic_percent"]) == ("stable", 90.0)
    assert (canary["requests"], canary["errors"], canary["error_rate"]) == (40, 1, 0.025)
    assert (stable["requests"], stable["errors"], stable["error_rate"]) == (400, 2, 0.005)
    assert (canary["p50_ms"], canary["p95_ms"]) == (3.5, 12.0)
    assert canary["digest"].startswith("sha256:")
    assert len(canary["digest"]) == 71
    assert canary["preview_url"].startswith(f"http://{site.canary}.production-")
    assert canary["job_id"] == str(site.job)
    assert stable["reason"] == "manual, by deployer: first release of the site"


async def test_promote_moves_production_and_records_who(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    site = await built(stack, tenant)
    answer = await client.post(
        f"/releases/{site.canary}/promote",
        json={"reason": "looks good"},
        headers=keys.headers(tenant, sub="ada"),
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["site"]["stable"] == site.canary
    assert answer.json()["site"]["canary"] is None
    assert answer.json()["release"]["state"] == "stable"
    assert answer.json()["release"]["traffic_percent"] == 100.0
    promoted = stack.store.history(site.site_id)[-1]
    assert isinstance(promoted, rv.ReleasePromoted)
    assert promoted.reason == rv.ManualReason(by="ada", note="looks good")
    assert (promoted.previous, promoted.user_id) == (site.stable, "ada")
    project_sites(stack.store, stack.database_url)
    releases = (
        await client.get(f"/sites/{site.site_id}/releases", headers=keys.headers(tenant))
    ).json()["releases"]
    assert by_id(releases)[site.stable]["state"] == "promoted_before"


async def test_manual_rollback_of_the_canary_and_then_of_production(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    site = await built(stack, tenant)
    auth = keys.headers(tenant)
    rolled = await client.post(f"/releases/{site.canary}/rollback", headers=auth)
    assert rolled.status_code == 202, rolled.text
    assert rolled.json()["release"]["state"] == "rolled_back"
    assert rolled.json()["release"]["reason"] == "manual, by alice"
    assert rolled.json()["site"]["canary"] is None
    assert rolled.json()["site"]["stable"] == site.stable
    last = stack.store.history(site.site_id)[-1]
    assert isinstance(last, rv.ReleaseRolledBack)
    assert (last.release, last.to_release) == (site.canary, site.stable)

    # Promoted by hand, then rolled back: production goes back to the first release.
    assert (await client.post(f"/releases/{site.canary}/promote", headers=auth)).status_code == 202
    back = await client.post(f"/releases/{site.canary}/rollback", headers=auth)
    assert back.status_code == 202, back.text
    assert back.json()["site"]["stable"] == site.stable


async def test_what_cannot_be_done_now_is_409_naming_why_and_writes_nothing(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    site = await built(stack, tenant)
    preview = await release(SiteCommands(stack.store), tenant, site.site_id, site.job)
    project_sites(stack.store, stack.database_url)
    auth = keys.headers(tenant)
    for path, why in [
        (f"/releases/{site.stable}/promote", f"release {site.stable} is serving already"),
        (f"/releases/{preview}/rollback", f"release {preview} is neither serving nor in canary"),
        (f"/releases/{site.stable}/rollback", f"no release before {site.stable}"),
    ]:
        before = stack.event_count()
        answer = await client.post(path, headers=auth)
        assert answer.status_code == 409, (path, answer.text)
        assert why in answer.json()["detail"]
        assert stack.event_count() == before


@pytest.mark.parametrize(
    "release_name", ["r-missing", "R-UPPER", "x" * 300, "r-a%00b", "..%2F..%2Fetc"]
)
async def test_an_unknown_or_malformed_release_is_404(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, release_name: str
) -> None:
    before = stack.event_count()
    answer = await client.post(
        f"/releases/{release_name}/promote", headers=keys.headers(new_tenant())
    )
    assert answer.status_code == 404, answer.text
    assert stack.event_count() == before


async def test_a_bad_reason_is_422_naming_the_field(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    site = await built(stack, tenant)
    before = stack.event_count()
    for reason in ("nul\u0000", "x" * 2_001):
        answer = await client.post(
            f"/releases/{site.canary}/rollback",
            json={"reason": reason},
            headers=keys.headers(tenant),
        )
        assert answer.status_code == 422, answer.text
        assert "body.reason" in answer.json()["detail"]
    assert stack.event_count() == before


async def test_another_tenants_site_and_releases_are_not_found(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    owner, other = new_tenant(), new_tenant()
    site = await built(stack, owner)
    them = keys.headers(other)
    assert (await client.get("/sites", headers=them)).json() == {"sites": []}
    before = stack.event_count()
    for method, path in [
        ("GET", f"/sites/{site.site_id}/releases"),
        ("POST", f"/releases/{site.canary}/promote"),
        ("POST", f"/releases/{site.canary}/rollback"),
    ]:
        answer = await client.request(method, path, headers=them)
        assert answer.status_code == 404, (path, answer.text)
    assert stack.event_count() == before

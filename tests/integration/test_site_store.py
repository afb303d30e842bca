"""Sites in the real event store: created once, decided with conflict retries, tenant-scoped."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest

from bdg_contracts import release_events as rv
from bdg_jobs.domain import Cause
from bdg_jobs.errors import JobNotFoundError
from bdg_jobs.site_commands import SiteCommands, SiteNotFoundError
from bdg_jobs.sites import Site
from bdg_jobs.store import JobStore

pytestmark = pytest.mark.timeout(60)
CAUSE = Cause("deployer", datetime(2026, 1, 1, tzinfo=UTC), "evt-1")


@pytest.fixture
def sites(database_url: str) -> SiteCommands:
    return SiteCommands(JobStore.from_url(database_url))


def build_and_release(site: Site, name: str) -> None:
    site.start_build(CAUSE, f"b-{name}", "static:dist", None)
    site.finish_build(CAUSE, f"b-{name}", "5" * 64, 2, 10)
    site.create_release(CAUSE, name, f"b-{name}", "local", name, "")


async def test_a_site_is_created_once_and_replays_from_the_log(sites: SiteCommands) -> None:
    repo = f"https://git.example/acme/{uuid4().hex}"
    first, second = await asyncio.gather(
        sites.ensure("acme", CAUSE, repo, "production"),
        sites.ensure("acme", CAUSE, repo + ".git", "production"),
    )
    assert first.site_id == second.site_id
    assert first.version == second.version == 1
    await sites.execute("acme", first.site_id, lambda s: build_and_release(s, "r1"))
    await sites.execute(
        "acme", first.site_id, lambda s: s.promote(CAUSE, "r1", rv.ManualReason(by="alice"))
    )
    again = await sites.get("acme", first.site_id)
    assert again.stable == "r1"
    assert again.releases["r1"].digest == "5" * 64
    # A site is no job: the job store refuses to load one.
    with pytest.raises(JobNotFoundError):
        sites.store.load(first.site_id)


async def test_concurrent_decisions_both_land(sites: SiteCommands) -> None:
    site = await sites.ensure("acme", CAUSE, f"https://git.example/{uuid4().hex}", "production")
    await asyncio.gather(
        *(
            sites.execute("acme", site.site_id, lambda s, n=n: build_and_release(s, f"r{n}"))
            for n in range(4)
        )
    )
    assert sorted((await sites.get("acme", site.site_id)).releases) == ["r0", "r1", "r2", "r3"]


async def test_another_tenants_site_is_not_found(sites: SiteCommands) -> None:
    site = await sites.ensure("acme", CAUSE, f"https://git.example/{uuid4().hex}", "production")
    with pytest.raises(SiteNotFoundError):
        await sites.get("globex", site.site_id)
    with pytest.raises(SiteNotFoundError):
        await sites.execute("globex", site.site_id, lambda s: build_and_release(s, "r1"))
    assert (await sites.get("acme", site.site_id)).version == 1


def test_any_reader_of_the_log_decodes_a_sites_events(tmp_path: Path) -> None:
    """The gateway's projector, the relay, other services: none imports the site's modules,
    and each must read a site's events in the shared log (an unknown class poisons a
    projection)."""
    sample = Path(__file__).parents[1] / "contracts" / "samples" / "SiteCreated" / "v1.json"
    code = (
        "import json, sys\n"
        "from eventsourcing.persistence import StoredEvent\n"
        "from bdg_jobs.mapper import to_event\n"
        "stored = json.loads(open(sys.argv[1]).read())['stored']\n"
        "oid, version = stored.pop('job_id'), stored.pop('version')\n"
        "row = StoredEvent(oid, version, 'SiteCreated', json.dumps(stored).encode())\n"
        "print(type(to_event(row)).__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(sample)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "SiteCreated"

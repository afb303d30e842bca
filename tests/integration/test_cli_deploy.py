"""`bdg deploy` against real PostgreSQL and NATS: the tenant's sites, a site's releases with
their figures, promote and rollback by name (and what is refused), and `status --follow`, a
subprocess that redraws on the site's events and ends when the canary is decided; and
`bdg job approve --deploy`, which approves by the digest it shows."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest

from bdg_contracts import events as ev
from bdg_contracts import release_events as rv
from bdg_jobs.domain import Cause, Job
from tests.integration.test_cli import Bdg, bdg  # noqa: F401  (fixture)
from tests.site_history import BuiltSite, project_sites, site_in_canary

pytestmark = pytest.mark.timeout(60)
ROOT = Path(__file__).resolve().parents[2]


async def acme_site(bdg: Bdg) -> BuiltSite:  # noqa: F811  (the fixture's name)
    return await site_in_canary(bdg.store, "acme", f"/srv/acme/{uuid4().hex}")


async def test_list_and_status_show_the_canary_and_its_figures(bdg: Bdg) -> None:  # noqa: F811
    site = await acme_site(bdg)
    listed = json.loads((await bdg("deploy", "list", "--json")).stdout)["sites"]
    [mine] = [s for s in listed if s["id"] == str(site.site_id)]
    assert (mine["stable"], mine["canary"]["release"]) == (site.stable, site.canary)
    table = (await bdg("deploy", "list")).stdout
    row = next(line for line in table.splitlines() if str(site.site_id) in line)
    assert f"{site.canary} 10%" in row

    status = (await bdg("deploy", "status", str(site.site_id)[:13])).stdout
    assert f"canary {site.canary} at 10% (stage 1/2)" in status
    line = next(line for line in status.splitlines() if line.startswith(site.canary))
    assert re.split(r"\s{2,}", line)[1:8] == ["canary", "10%", "40", "1", "2.50%", "3.5", "12.0"]
    as_json = json.loads((await bdg("deploy", "status", str(site.site_id), "--json")).stdout)
    assert [r["id"] for r in as_json["releases"]] == [site.canary, site.stable]

    # Another tenant's site is no site at all.
    other = await bdg("deploy", "status", str(site.site_id), "--tenant", "globex", code=1)
    assert f"no site {site.site_id}" in other.output


async def test_promote_and_rollback_by_name(bdg: Bdg) -> None:  # noqa: F811
    site = await acme_site(bdg)
    promoted = (await bdg("deploy", "promote", site.canary, "--reason", "good")).stdout
    assert f"{site.canary}: stable, 100% of traffic" in promoted
    last = bdg.store.history(site.site_id)[-1]
    assert isinstance(last, rv.ReleasePromoted)
    assert last.reason == rv.ManualReason(by="alice", note="good")

    again = await bdg("deploy", "promote", site.canary, code=1)
    assert f"release {site.canary} is serving already" in again.output
    rolled = (await bdg("deploy", "rollback", site.canary)).stdout
    assert f"{site.canary}: rolled_back, 0% of traffic" in rolled
    assert bdg.store.history(site.site_id)[-1].name == "ReleaseRolledBack"
    missing = await bdg("deploy", "rollback", "r-nothing", code=1)
    assert "no release r-nothing" in missing.output
    bad = await bdg("deploy", "rollback", site.stable, "--reason", "x" * 2_001, code=2)
    assert "reason" in bad.output


async def test_status_follow_redraws_and_ends_when_the_canary_is_decided(
    bdg: Bdg,  # noqa: F811
) -> None:
    site = await acme_site(bdg)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bdg_cli.main", "deploy", "status", str(site.site_id), "--follow",
        env={**os.environ, **bdg.env, "PYTHONUNBUFFERED": "1"},
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        first = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert first.startswith(f"site {site.site_id}".encode()), first
        await bdg("deploy", "rollback", site.canary, "--reason", "5xx")
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 1, out.decode()  # rolled back, not promoted
    final = out.decode().split(f"site {site.site_id}")[-1]
    assert f"production http://production-{site.site_id.hex[:8]}" in final
    assert "canary" not in final.splitlines()[1]
    assert re.search(rf"^{site.canary}\s+rolled_back\s+0%.*manual, by alice: 5xx$", final, re.M)


async def test_job_approve_deploy_sends_the_digest_it_shows(bdg: Bdg) -> None:  # noqa: F811
    shown = "sha256:" + "ab" * 32
    job_id = await bdg.create("ship a site")
    await bdg.drive(job_id, "plan", "approve", "code", "test", "review")

    def ask(job: Job) -> None:
        job.await_deploy_approval(Cause("deployer", datetime.now(UTC)), "site", "1 file", shown)

    await bdg.app.execute(job_id, ask)
    status = (await bdg("job", "show", str(job_id))).stdout
    assert f"bdg job approve {job_id} --deploy --digest {shown}" in status
    other = "sha256:" + "cd" * 32
    refused = await bdg("job", "approve", str(job_id), "--deploy", "--digest", other, code=1)
    assert shown in refused.output
    assert other in refused.output
    assert (await bdg.app.load(job_id)).state.value == "awaiting_deploy_approval"
    approved = (await bdg("job", "approve", str(job_id), "--deploy")).stdout
    assert f"approving deploy digest {shown}" in approved
    [event] = await bdg.app.history(job_id, (await bdg.app.load(job_id)).version - 1)
    assert isinstance(event, ev.DeployApproved)
    assert event.digest == shown


def site_rows(database_url: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with psycopg.connect(database_url) as conn:
        sites = conn.execute("SELECT * FROM bdg_sites ORDER BY site_id").fetchall()
        releases = conn.execute(
            "SELECT * FROM bdg_site_releases ORDER BY tenant, release"
        ).fetchall()
    return sites, releases


async def test_replay_rebuilds_the_sites_read_model_row_for_row(
    bdg: Bdg,  # noqa: F811
    database_url: str,
) -> None:
    mine = await acme_site(bdg)
    theirs = await site_in_canary(bdg.store, "globex", f"/srv/globex/{uuid4().hex}")
    await bdg("deploy", "promote", mine.canary)  # a decision after the canary, by hand
    project_sites(bdg.store, database_url)
    live = site_rows(database_url)
    assert len(live[0]) == 2
    assert len(live[1]) == 4

    with psycopg.connect(database_url) as conn:  # the read model drifts from the log
        conn.execute(
            "UPDATE bdg_sites SET site = jsonb_set(site, '{stable}', '\"r-forged\"'), "
            "version = 1 WHERE site_id = %s",
            (mine.site_id,),
        )
        conn.execute("DELETE FROM bdg_site_releases WHERE release = %s", (theirs.canary,))
        conn.execute(
            "INSERT INTO bdg_sites (site_id, tenant, version, updated_at, site) "
            "VALUES (%s, 'acme', 9, now(), '{}')",
            (uuid4(),),
        )
    assert site_rows(database_url) != live

    result = await bdg("replay")
    total = bdg.store.max_notification_id()
    for name in ("agent_config", "sites"):
        assert re.search(rf"rebuilt {name}: {total} events in", result.stdout), result.stdout
    assert site_rows(database_url) == live

    with psycopg.connect(database_url) as conn:
        conn.execute("DELETE FROM bdg_site_releases")
    only = await bdg("replay", "--projection", "sites")
    assert "rebuilt agent_config" not in only.stdout
    assert site_rows(database_url) == live

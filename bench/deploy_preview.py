"""Approval to preview URL serving for a small site, and the build before it, on this machine.

The deployer's site path as the service runs it: a git repository whose ``package.json`` builds
the site with ``npm run build`` (a node script, no dependencies: no install, so no registry in
the measurement), sandboxd (runc or bwrap) for the build, PostgreSQL for the site's events, the
edge as its own process. Per trial, with a new change each time:

- ask: what happens before the approval request (commit, detection, the sandboxed build, the
  artifact stored): the digest the approver is shown covers the artifact;
- approval to serving: from the approval (the digest checked again) through the branch, the
  release (artifact verified, route written, health check) and the rollout, until the release's
  preview URL answers with the new page.

Printed beside: a bare sandbox exec of ``true`` in a fresh workspace (create, exec, drop) and a
bare request through the edge, measured in the same run.

    uv run python -m bench.deploy_preview [--trials 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from pathlib import Path
from uuid import uuid4

import httpx

from bdg_contracts import release_events as rv
from bdg_deployer.application import Deploying
from bdg_deployer.build.sandboxed import SandboxBuilder
from bdg_deployer.domain import ChangeSet, DeployTask, approval_digest
from bdg_deployer.git_branch import GitBranchDeployer
from bdg_deployer.site_deploy import SiteDeployer
from bdg_sandbox.client import SandboxClient
from bench.site_rig import Rig, bare_http, ms, rig
from tests.git_repos import make_repo
from tests.sandbox.daemon import start_daemon

BUILD = """import { mkdirSync, writeFileSync, readFileSync } from "node:fs";
mkdirSync("dist/assets", { recursive: true });
const page = readFileSync("src/index.html", "utf8");
writeFileSync("dist/index.html", page);
writeFileSync("dist/assets/app.js", "console.log('hi');\\n");
writeFileSync("dist/assets/app.css", "body { font: 16px sans-serif; }\\n");
"""


def patch(before: str, after: str) -> str:
    return f"--- a/src/index.html\n+++ b/src/index.html\n@@ -1 +1 @@\n-{before}\n+{after}\n"


async def serving(url: str, port: int, text: str) -> None:
    host = url.removeprefix("http://").split(":")[0]
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        while (answer := await http.get("/", headers={"host": host})).text != text:
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} answers {answer.status_code} {answer.text[:200]!r}")
            await asyncio.sleep(0.005)  # a bench polling a URL, not a test


async def measure(trials: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="bdg-bench-sources-"))
    root.chmod(0o755)  # noqa: ASYNC240  (once, before anything runs)
    daemon = await start_daemon(SANDBOX_SOURCE_ROOTS=f'["{root}"]')
    daemon.grant({"bench": [root]})
    client = daemon.client()
    try:
        async with rig() as rig_:
            await run_trials(rig_, client, root, trials)
    finally:
        await client.close()
        daemon.stop()
        daemon.remove()
        shutil.rmtree(root, ignore_errors=True)


async def run_trials(rig_: Rig, client: SandboxClient, root: Path, trials: int) -> None:
    repo = root / "site"
    package = {"name": "bench-site", "private": True, "scripts": {"build": "node build.mjs"}}
    make_repo(
        repo,
        {"package.json": json.dumps(package), "build.mjs": BUILD, "src/index.html": "<h1>0</h1>\n"},
    )
    deployer = SiteDeployer(
        GitBranchDeployer(rig_.home / "deploys"), SandboxBuilder(client), rig_.releasing
    )
    asks, serves = [], []
    for i in range(trials):
        patches = (patch("<h1>0</h1>", f"<h1>{i}</h1>"),) if i else ()
        change = ChangeSet(str(repo), "main", "", patches, ("src/index.html",))
        task = DeployTask(uuid4(), "bench", "ship it", change=change)
        t0 = time.perf_counter()
        shown = await deployer.prepare(task)
        t1 = time.perf_counter()
        approved = approval_digest(change, shown.artifact)
        await Deploying(deployer).publish(task, approved)
        sid = rv.site_id("bench", str(repo), rv.JOB_TARGET)
        site = await rig_.releasing.sites.get("bench", sid)
        release = site.releases[site.releases_of_job(task.job_id)[-1]]
        await serving(release.preview_url, rig_.port, f"<h1>{i}</h1>\n")
        t2 = time.perf_counter()
        asks.append(t1 - t0)
        serves.append(t2 - t1)
        kind = "promoted" if i == 0 else "canary"
        if site.canary is not None:  # one canary at a time: the next trial's needs the slot
            await rig_.releasing.promote("bench", sid, site.canary.release, "bench")
        print(f"trial {i} ({kind}): ask {t1 - t0:.2f} s, approval to serving {t2 - t1:.2f} s")
    bare = []
    for _ in range(10):
        ws = f"bare-{uuid4().hex[:12]}"
        t0 = time.perf_counter()
        await client.create_workspace("bench", ws, str(repo), "main", [])
        await client.exec("bench", ws, ["true"])
        await client.drop_workspace("bench", ws)
        bare.append(time.perf_counter() - t0)
    http = await bare_http(rig_.edge_url, "none.localhost")
    print(
        f"approval to preview serving: p50 {ms(serves, 50):.0f} ms (max {max(serves) * 1000:.0f});"
        f" ask (build included) p50 {ms(asks, 50):.0f} ms (max {max(asks) * 1000:.0f})"
    )
    print(
        f"raw limits: bare sandbox workspace + exec `true` + drop p50 {ms(bare, 50):.0f} ms; "
        f"bare request through the edge p50 {ms(http, 50):.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(measure(args.trials))


if __name__ == "__main__":
    main()

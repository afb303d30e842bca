"""Approval to preview URL serving for a small Vite site, and the build before it, on this machine.

The deployer's site path as the service runs it: a git repository holding
``templates/agent-starter`` (React + TypeScript, built by ``tsc --noEmit && vite build`` after
``npm ci`` from its lock file: registry-only egress and the tenant's package cache), sandboxd
(runc or bwrap) for the build, PostgreSQL for the site's events, the edge as its own process.
A first, unmeasured deploy fills the tenant's package cache (its time is printed as the cold
one); the trials then install from a warm cache. ``--site node`` is the older plain site (a node
build script, no dependencies, no install). Per trial, with a new change each time:

- ask: what happens before the approval request (commit, detection, the sandboxed build, the
  artifact stored): the digest the approver is shown covers the artifact;
- approval to serving: from the approval (the digest checked again) through the branch, the
  release (artifact verified, route written, health check) and the rollout, until the release's
  preview URL answers with the new page.

Printed beside, measured in the same run: the bare build in the sandbox with nothing of the
deployer around it (one workspace: ``npm ci`` from the warm cache, ``npm run build``, and
``vite build`` alone), a bare sandbox exec of ``true`` in a fresh workspace (create, exec,
drop), a bare request through the edge, and the load average.

    uv run python -m bench.deploy_preview [--trials 5] [--site vite|node]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import httpx

from bdg_contracts import release_events as rv
from bdg_deployer.application import Deploying
from bdg_deployer.build.sandboxed import BUILD_ENV, SandboxBuilder
from bdg_deployer.domain import ChangeSet, DeployTask, approval_digest
from bdg_deployer.git_branch import GitBranchDeployer
from bdg_deployer.site_deploy import SiteDeployer
from bdg_sandbox.client import SandboxClient
from bench.site_rig import Rig, bare_http, ms, rig
from tests.git_repos import git, make_repo
from tests.sandbox.daemon import start_daemon

TEMPLATE = Path(__file__).resolve().parent.parent / "templates" / "agent-starter"
VITE_TITLE = "<title>agent-starter · todos</title>"

BUILD = """import { mkdirSync, writeFileSync, readFileSync } from "node:fs";
mkdirSync("dist/assets", { recursive: true });
const page = readFileSync("src/index.html", "utf8");
writeFileSync("dist/index.html", page);
writeFileSync("dist/assets/app.js", "console.log('hi');\\n");
writeFileSync("dist/assets/app.css", "body { font: 16px sans-serif; }\\n");
"""


def patch(before: str, after: str) -> str:
    return f"--- a/src/index.html\n+++ b/src/index.html\n@@ -1 +1 @@\n-{before}\n+{after}\n"


def title_patch(index_html: str, trial: str) -> str:
    """index.html's title line (line 7 of the template) says which trial it is; with a line of
    context each side (git apply wants context)."""
    before, title, after = index_html.splitlines()[5:8]
    return (
        "--- a/index.html\n+++ b/index.html\n@@ -6,3 +6,3 @@\n"
        f" {before}\n-{title}\n+    <title>trial {trial}</title>\n {after}\n"
    )


@dataclass(frozen=True)
class SiteKind:
    files: dict[str, str]
    changed: str  # the file a trial's patch changes

    def patches(self, trial: str) -> tuple[str, ...]:
        if self.changed == "index.html":
            return (title_patch(self.files["index.html"], trial),)
        return (patch("<h1>0</h1>", f"<h1>{trial}</h1>"),) if trial != "0" else ()

    def page_says(self, trial: str) -> str:
        return (
            f"<title>trial {trial}</title>" if self.changed == "index.html" else f"<h1>{trial}</h1>"
        )


def vite_site() -> SiteKind:
    listed = git(TEMPLATE, "ls-files", ".").splitlines()
    files = {name: (TEMPLATE / name).read_text() for name in listed}
    assert VITE_TITLE in files["index.html"].splitlines()[6], "the template's title moved"
    return SiteKind(files, "index.html")


def node_site() -> SiteKind:
    package = {"name": "bench-site", "private": True, "scripts": {"build": "node build.mjs"}}
    files = {
        "package.json": json.dumps(package),
        "build.mjs": BUILD,
        "src/index.html": "<h1>0</h1>\n",
    }
    return SiteKind(files, "src/index.html")


async def serving(url: str, port: int, text: str) -> None:
    host = url.removeprefix("http://").split(":")[0]
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        while text not in (answer := await http.get("/", headers={"host": host})).text:
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} answers {answer.status_code} {answer.text[:200]!r}")
            await asyncio.sleep(0.005)  # a bench polling a URL, not a test


async def measure(trials: int, kind: SiteKind) -> None:
    root = Path(tempfile.mkdtemp(prefix="bdg-bench-sources-"))
    root.chmod(0o755)  # noqa: ASYNC240  (once, before anything runs)
    daemon = await start_daemon(SANDBOX_SOURCE_ROOTS=f'["{root}"]')
    daemon.grant({"bench": [root]})
    client = daemon.client()
    try:
        async with rig() as rig_:
            await run_trials(rig_, client, root, trials, kind)
    finally:
        await client.close()
        daemon.stop()
        daemon.remove()
        shutil.rmtree(root, ignore_errors=True)


async def deploy(
    rig_: Rig, deployer: SiteDeployer, repo: Path, kind: SiteKind, trial: str
) -> tuple[float, float]:
    """One change deployed: (ask, approval to serving) in seconds."""
    patches = kind.patches(trial)
    change = ChangeSet(str(repo), "main", "", patches, (kind.changed,))
    task = DeployTask(uuid4(), "bench", "ship it", change=change)
    t0 = time.perf_counter()
    shown = await deployer.prepare(task)
    t1 = time.perf_counter()
    if shown.artifact is None:
        raise SystemExit(f"trial {trial}: the build made no site:\n{shown}")
    approved = approval_digest(change, shown.artifact)
    await Deploying(deployer).publish(task, approved)
    sid = rv.site_id("bench", str(repo), rv.JOB_TARGET)
    site = await rig_.releasing.sites.get("bench", sid)
    release = site.releases[site.releases_of_job(task.job_id)[-1]]
    await serving(release.preview_url, rig_.port, kind.page_says(trial))
    t2 = time.perf_counter()
    if site.canary is not None:  # one canary at a time: the next trial's needs the slot
        await rig_.releasing.promote("bench", sid, site.canary.release, "bench")
    return t1 - t0, t2 - t1


async def bare_build(client: SandboxClient, repo: Path, vite: bool) -> list[tuple[str, float]]:
    """The build alone in one sandbox workspace, as the builder runs it (same env, limits,
    network and cache), with nothing of the deployer around it."""
    ws = f"bare-build-{uuid4().hex[:12]}"
    limits = SandboxBuilder(client).limits
    steps = [("npm ci (warm cache)", ["npm", "ci"], "registry")] if vite else []
    steps.append(("npm run build", ["npm", "run", "build"], "none"))
    if vite:
        steps.append(("vite build alone", ["node_modules/.bin/vite", "build"], "none"))
    took = []
    await client.create_workspace("bench", ws, str(repo), "main", [])
    try:
        for name, argv, network in steps:
            t0 = time.perf_counter()
            result = await client.exec(
                "bench",
                ws,
                argv,
                env=BUILD_ENV,
                limits=limits,
                network=network,
                cache=network == "registry",
            )
            took.append((name, time.perf_counter() - t0))
            if result.exited.code != 0:
                raise SystemExit(f"bare {name}: {result.stderr.decode()[-2000:]}")
    finally:
        await client.drop_workspace("bench", ws)
    return took


async def run_trials(
    rig_: Rig, client: SandboxClient, root: Path, trials: int, kind: SiteKind
) -> None:
    repo = root / "site"
    make_repo(repo, kind.files)
    deployer = SiteDeployer(
        GitBranchDeployer(rig_.home / "deploys"), SandboxBuilder(client), rig_.releasing
    )
    cold_ask, cold_serve = await deploy(rig_, deployer, repo, kind, "0")
    print(
        f"first deploy (cold package cache, promoted): ask {cold_ask:.2f} s, "
        f"approval to serving {cold_serve:.2f} s"
    )
    asks, serves = [], []
    for i in range(1, trials + 1):
        ask, serve = await deploy(rig_, deployer, repo, kind, str(i))
        asks.append(ask)
        serves.append(serve)
        print(f"trial {i} (canary): ask {ask:.2f} s, approval to serving {serve:.2f} s")
    built = await bare_build(client, repo, kind.changed == "index.html")
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
        f" ask (install and build included) p50 {ms(asks, 50):.0f} ms"
        f" (max {max(asks) * 1000:.0f})"
    )
    print(
        "raw limits: bare build in one sandbox workspace: "
        + ", ".join(f"{name} {took:.2f} s" for name, took in built)
        + f"; bare sandbox workspace + exec `true` + drop p50 {ms(bare, 50):.0f} ms;"
        f" bare request through the edge p50 {ms(http, 50):.2f} ms"
    )
    print("load average (1, 5, 15 min): " + " ".join(f"{x:.2f}" for x in os.getloadavg()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--site", choices=("vite", "node"), default="vite")
    args = parser.parse_args()
    kind = vite_site() if args.site == "vite" else node_site()
    asyncio.run(measure(args.trials, kind))


if __name__ == "__main__":
    main()

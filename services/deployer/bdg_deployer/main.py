"""Deployer service: asks for deploy approval after an approving review, deploys, rolls back.

Composition root. By default the change is delivered as a branch of the job's repository
(git_branch.py), and a repository that is a site is also built in sandboxd, released on the
edge and rolled out as a canary that a background loop judges (site_deploy.py,
canary_watch.py); with ``BDG_ANSWERS_FILE`` set (tests, the demo) deploys are answered from its
recorded script. Recorded answers are read here, before anything connects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path
from urllib.parse import urlsplit

from bdg_deployer.adapters import AbstractDeployProvider
from bdg_deployer.application import Deploying
from bdg_deployer.artifacts import ArtifactStore
from bdg_deployer.beacon.keys import BeaconSecretError, load_secret, secret_path
from bdg_deployer.beacon.publish import CloudBeacon, collector_url
from bdg_deployer.build.sandboxed import SandboxBuilder
from bdg_deployer.canary_settings import CanarySettingsError, canary_settings
from bdg_deployer.canary_watch import watch_canaries
from bdg_deployer.edge.main import state_paths
from bdg_deployer.edge_client import EdgeClient
from bdg_deployer.git_branch import GitBranchDeployer
from bdg_deployer.handlers import DeployerHandlers
from bdg_deployer.preview_check import LighthouseCheck
from bdg_deployer.providers.base import ProviderConfigError
from bdg_deployer.providers.choose import ProviderChoice, default_provider
from bdg_deployer.providers.local import LocalEdge
from bdg_deployer.pull_requests.hosts import GitHosts, GitHostsError, load_hosts
from bdg_deployer.recorded import DeployerScript, RecordedDeployProvider, RecordedDeploys
from bdg_deployer.releasing import EdgeSite, Releasing
from bdg_deployer.site_deploy import SiteDeployer
from bdg_deployer.site_follower import SiteFollower
from bdg_jobs.application import utc_now
from bdg_jobs.deploy_credentials import CredentialKeyError, DeployCredentials, connect_url, load_key
from bdg_jobs.site_commands import SiteCommands
from bdg_runtime import service
from bdg_runtime.answers import Answers, answers_or_exit, report
from bdg_runtime.job_replay import ReplaySources
from bdg_runtime.lighthouse import LIGHTHOUSE, reports_dir
from bdg_runtime.reactions import AnyReaction
from bdg_runtime.settings import Settings
from bdg_sandbox.client import SandboxClient

NAME = "deployer"
log = logging.getLogger("bdg_deployer")


def clones_dir(settings: Settings) -> Path:
    """Where the deployer keeps its clones of jobs' URL sources."""
    return settings.bdg_home.expanduser().resolve() / "deploys"


def git_hosts() -> GitHosts:
    """``BDG_GIT_HOSTS``: the git hosts each tenant's branches are pushed to, with a pull
    request (pull_requests/hosts.py); none configured: branches stay in the deployer's clones."""
    try:
        return load_hosts(os.environ.get("BDG_GIT_HOSTS", ""))
    except GitHostsError as error:
        raise service.ConfigurationError(str(error)) from error


def build(
    answers: Answers, settings: Settings | None = None, hosts: GitHosts | None = None
) -> DeployerHandlers:
    provider: AbstractDeployProvider
    if answers.source:  # recorded answers were asked for (BDG_ANSWERS_FILE): tests, the demo
        provider = RecordedDeployProvider(answers)
    else:
        provider = GitBranchDeployer(clones_dir(settings or Settings()), hosts)
    return DeployerHandlers(Deploying(provider))


def releasing(ctx: service.ServiceContext, announce: bool = False) -> Releasing:
    """Sites on the edge (route table and artifacts under the state dir) or on the cloud
    provider a tenant chose for the site's target (providers/choose.py). ``announce``: log
    where cloud pages report (once per start: the handlers and the watch each build one)."""
    routes, artifacts = state_paths(ctx.settings.bdg_home)
    port = ctx.settings.bdg_edge_port
    url = ctx.settings.bdg_edge_url or f"http://127.0.0.1:{port}"
    try:
        key = load_key(ctx.settings.bdg_home)
        default = default_provider()
        stages, threshold = canary_settings(os.environ)
        secret = load_secret(secret_path(routes.parent))
    except (
        CredentialKeyError,
        ProviderConfigError,
        CanarySettingsError,
        BeaconSecretError,
    ) as error:
        raise service.ConfigurationError(str(error)) from error
    # Pages of a cloud canary report to the edge's collector at its public address.
    beacon = CloudBeacon(collector_url(ctx.settings.bdg_beacon_url, url), secret)
    if announce and urlsplit(beacon.collector).hostname in ("127.0.0.1", "localhost", "::1"):
        log.info(
            "cloud canaries: pages report to %s, reachable from this machine only (a Vercel "
            "canary waits for counts); set BDG_BEACON_URL to the edge's public address",
            beacon.collector,
        )
    edge = EdgeSite(routes, ArtifactStore(artifacts), EdgeClient(url), port, beacon)
    credentials = DeployCredentials(connect_url(ctx.database_url), key)
    choice = ProviderChoice(LocalEdge(edge.client, port), credentials, default)
    commands = SiteCommands(ctx.store)
    return Releasing(commands, edge, utc_now, stages, threshold, providers=choice)


def sites_enabled() -> bool:
    """``BDG_DEPLOY_SITES`` (default 1): build and release sites, which needs sandboxd and the
    edge; 0: every deploy is the branch delivery only."""
    raw = os.environ.get("BDG_DEPLOY_SITES", "1").strip()
    if raw not in ("0", "1"):
        raise service.ConfigurationError(f"BDG_DEPLOY_SITES must be 0 or 1, got {raw!r}")
    return raw == "1"


def site_handlers(ctx: service.ServiceContext, hosts: GitHosts | None = None) -> DeployerHandlers:
    try:
        client = SandboxClient(ctx.settings.agent_sandbox_endpoint)
    except ValueError as error:
        raise service.ConfigurationError(f"AGENT_SANDBOX_ENDPOINT: {error}") from error
    branch = GitBranchDeployer(clones_dir(ctx.settings), hosts)
    sites = SiteDeployer(
        branch, SandboxBuilder(client), releasing(ctx), preview_check(ctx.settings)
    )
    return DeployerHandlers(Deploying(sites))


def preview_check(settings: Settings, cli: Path = LIGHTHOUSE) -> LighthouseCheck | None:
    """``BDG_PREVIEW_MIN_SCORE``: Lighthouse on each site job's preview before its deploy is
    offered (Lighthouse must be installed: checked at the start, not at a job's deploy)."""
    bar = settings.bdg_preview_min_score
    if bar is None:
        return None
    if not cli.is_file():
        raise service.ConfigurationError(
            f"BDG_PREVIEW_MIN_SCORE={bar} needs Lighthouse ({cli}): run `npm ci` in web/"
        )
    return LighthouseCheck(bar, reports_dir(settings.bdg_home))


def replay_reactions(sources: ReplaySources) -> list[AnyReaction]:
    """The same handlers, each deploy answered as the job's history recorded it, whether a
    branch was delivered or a script answered (a replay never deploys)."""
    return DeployerHandlers(Deploying(RecordedDeploys(sources.history))).reactions()


async def follow_and_watch(
    sites: Releasing, ctx: service.ServiceContext, stop: asyncio.Event
) -> None:
    """Hand-made decisions followed at once (site_follower.py), canaries judged every turn."""
    follower = SiteFollower(sites)
    subscription = await follower.subscribe(ctx.nc)
    try:
        await watch_canaries(sites, stop)
    finally:
        with contextlib.suppress(Exception):  # a closed connection has no subscription left
            await subscription.unsubscribe()
        await follower.close()


def run() -> None:
    answers = answers_or_exit(NAME, DeployerScript)
    settings = Settings()

    try:
        sites = sites_enabled()
        hosts = git_hosts()
        default_provider()  # an unknown BDG_DEPLOY_PROVIDER stops the start, not a deploy
        load_key(settings.bdg_home)  # so does a bad BDG_CREDENTIALS_KEY
        canary_settings(os.environ)  # and bad canary stages or threshold
        if sites and not answers.source:
            preview_check(settings)  # and a preview gate with no Lighthouse to measure
    except (
        service.ConfigurationError,
        ProviderConfigError,
        CredentialKeyError,
        CanarySettingsError,
    ) as error:
        log.error("%s", error)
        raise SystemExit(2) from error

    def reactions(ctx: service.ServiceContext) -> list[AnyReaction]:
        if answers.source:
            report(answers, log)
            return build(answers, settings).reactions()
        if not sites:
            log.info("deploys: a branch bdg/<job> in each job's repository (BDG_DEPLOY_SITES=0)")
            return build(answers, settings, hosts).reactions()
        log.info("deploys: a branch bdg/<job> in each job's repository; sites on the edge")
        return site_handlers(ctx, hosts).reactions()

    async def canaries(ctx: service.ServiceContext, stop: asyncio.Event) -> None:
        if sites and not answers.source:  # recorded deploys make no sites
            await follow_and_watch(releasing(ctx, announce=True), ctx, stop)

    service.run(NAME, reactions, canaries)


if __name__ == "__main__":
    run()

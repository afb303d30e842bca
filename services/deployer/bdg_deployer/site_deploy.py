"""The deploy step for a job whose repository is a site: the branch, then a build, a release
and its rollout on the site's provider (the edge, or the cloud its tenant chose).

Every approved job's change is delivered as a branch first (``GitBranchDeployer``): for a
repository that is no site (a library, a CLI) that is the deploy, and the job says so. A site
(``detect_site`` on the delivered commit) is built in sandboxd, recorded in the site aggregate,
released at its preview URL and rolled out; the canary watch (``canary_watch.py``) decides the
rest. The provider is checked before the build: an unknown one or missing credentials fail the
step with nothing built. A failed build or a refused release fails the step with what went
wrong.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from bdg_contracts import release_events as rv
from bdg_deployer.adapters import AbstractDeployProvider
from bdg_deployer.build.detect import BuildDetectionError, detect_site
from bdg_deployer.build.sandboxed import SandboxBuilder, Source
from bdg_deployer.domain import Deployment, DeployTask, Release
from bdg_deployer.git_branch import GitBranchDeployer
from bdg_deployer.providers.local import LocalEdge
from bdg_deployer.releasing import ReleaseRefusedError, Releasing
from bdg_deployer.site_routes import production_url, site_label
from bdg_deployer.site_tree import site_tree
from bdg_jobs.aggregate import Cause
from bdg_jobs.site_commands import SiteNotFoundError
from bdg_jobs.sites import Site
from bdg_runtime.reactions import StepError

TARGET = "production"


class SiteBuildError(StepError):
    """The site's build failed or its release was refused: retrying the same change cannot help."""


def serving_url(site: Site, edge_port: int) -> str:
    """The edge's production URL of the site; on a cloud, the URL of the release serving."""
    stable = site.releases.get(site.stable) if site.stable else None
    if stable is not None and stable.provider != LocalEdge.NAME:
        return stable.preview_url
    return production_url(site_label(site), edge_port)


@dataclass
class SiteDeployer(AbstractDeployProvider):
    branch: GitBranchDeployer
    builder: SandboxBuilder
    releasing: Releasing

    async def prepare(self, task: DeployTask) -> Release:
        return await self.branch.prepare(task)

    async def roll_back(self, task: DeployTask) -> str:
        """The job's branch goes; on a site, the job's release in canary or serving is rolled
        back (to the release before it: nothing is rebuilt). The URL serving now."""
        shown = await self.branch.roll_back(task)
        tenant, repo = task.tenant_id, task.change.repo or f"job:{task.job_id}"
        try:
            site = await self.releasing.sites.get(tenant, rv.site_id(tenant, repo, TARGET))
        except SiteNotFoundError:
            return shown  # no site: the branch was the deploy
        live = {site.stable, site.canary.release if site.canary else None}
        for release in site.releases_of_job(task.job_id):
            if release in live:
                by = f"job:{task.job_id}"
                await self.releasing.roll_back(tenant, site.site_id, release, by, by_user=False)
        return serving_url(site, self.releasing.edge.port)

    async def deploy(self, task: DeployTask) -> Deployment:
        delivered = await self.branch.deploy(task)
        if delivered.branch is None:
            return delivered
        target = await self.branch.git_dir(task)
        paths, package = await asyncio.to_thread(site_tree, target, delivered.branch.commit)
        try:
            plan = detect_site(paths, package)
        except BuildDetectionError as error:
            raise SiteBuildError(str(error)) from error
        if plan is None:
            return delivered  # no site: the branch is the deploy
        change = task.change
        source = Source(change.repo, change.base_commit or change.base_ref, change.patches)
        sites, tenant = self.releasing.sites, task.tenant_id
        cause = Cause("deployer", self.releasing.clock(), None)
        site = await sites.ensure(tenant, cause, change.repo or f"job:{task.job_id}", TARGET)
        if site.releases_of_job(task.job_id):  # a redelivery after a crash: released already
            return await self._deployment(tenant, site.site_id, delivered, task)
        try:  # an unknown provider or missing credentials: refused before any build
            await self.releasing.target_of(tenant, site)
        except ReleaseRefusedError as error:
            raise SiteBuildError(str(error)) from error
        with tempfile.TemporaryDirectory(prefix="bdg-site-build-") as tmp:
            outcome = await self.builder.build(tenant, source, Path(tmp) / "site")
            build = await self.releasing.store_build(
                tenant, site.site_id, outcome.folder, plan.command, task.job_id, outcome.output
            )
        built = (await sites.get(tenant, site.site_id)).builds[build]
        if built.failed is not None:
            raise SiteBuildError(f"the site's build ({plan.command}) failed:\n{built.failed}")
        try:
            release = await self.releasing.release(tenant, site.site_id, build)
        except ReleaseRefusedError as error:
            raise SiteBuildError(str(error)) from error
        await self.releasing.roll_out(tenant, site.site_id, release)
        return await self._deployment(tenant, site.site_id, delivered, task)

    async def _deployment(
        self, tenant: str, site_id: UUID, delivered: Deployment, task: DeployTask
    ) -> Deployment:
        """What the job's Deployed says: the production URL, and whether its release is a
        canary now."""
        site = await self.releasing.sites.get(tenant, site_id)
        url = serving_url(site, self.releasing.edge.port)
        ours = set(site.releases_of_job(task.job_id))
        canary = site.canary is not None and site.canary.release in ours
        return Deployment(url, canary=canary, branch=delivered.branch)

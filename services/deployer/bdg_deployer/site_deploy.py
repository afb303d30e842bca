"""The deploy step for a job whose repository is a site: the branch, then a build, a release
and its rollout on the site's provider (the edge, or the cloud its tenant chose).

Every approved job's change is delivered as a branch first (``GitBranchDeployer``): for a
repository that is no site (a library, a CLI) that is the deploy, and the job says so. A site
(``detect_site`` on the delivered commit) is built in sandboxd, recorded in the site aggregate,
released at its preview URL and rolled out; the canary watch (``canary_watch.py``) decides the
rest. The site is built before the deploy is approved, so the approval's digest covers the
artifact; the deploy releases that build. With the operator's preview gate
(``BDG_PREVIEW_MIN_SCORE``) the build is released before the approval too, with no traffic, and
measured at its preview URL (``preview_check.py``); the deploy rolls out that release. The
provider is checked before the build: an unknown one or missing credentials fail the step with
nothing built. A failed build or a refused release fails the step with what went wrong.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from bdg_contracts import release_events as rv
from bdg_deployer.adapters import AbstractDeployProvider
from bdg_deployer.build.detect import BuildDetectionError, BuildPlan, detect_site
from bdg_deployer.build.sandboxed import SandboxBuilder, Source
from bdg_deployer.domain import Deployment, DeployTask, Measured, Release, approval_digest
from bdg_deployer.git_branch import GitBranchDeployer
from bdg_deployer.preview_check import AbstractPreviewCheck
from bdg_deployer.providers.local import LocalEdge
from bdg_deployer.releasing import ReleaseRefusedError, Releasing
from bdg_deployer.site_routes import production_url, site_label
from bdg_deployer.site_tree import site_tree
from bdg_jobs.aggregate import Cause
from bdg_jobs.site_commands import SiteNotFoundError
from bdg_jobs.sites import Build, Site
from bdg_runtime.reactions import StepError

TARGET = rv.JOB_TARGET


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
    preview_check: AbstractPreviewCheck | None = None  # the operator's gate; None: no gate

    async def prepare(self, task: DeployTask) -> Release:
        """The branch to be, and for a site its build: the approver is shown the artifact,
        and the approval's digest covers its manifest. With a preview check, the build is
        released first (a release with no traffic, served at its preview URL) and measured."""
        shown = await self.branch.prepare(task)
        plan = await self._site_plan(task)
        if plan is None:
            return shown
        built = await self._build(task, plan)
        assert built.digest is not None
        preview = (
            f"{shown.preview}; site build {built.name} ({plan.command}): {built.files} file(s), "
            f"{built.size} bytes, manifest sha256:{built.digest}"
        )
        if self.preview_check is None:
            return Release(shown.target, preview, artifact=built.digest)
        measured = await self._measure(task, built, self.preview_check)
        scores = ", ".join(f"{c} {s}" for c, s in measured.scores.items())
        preview += f"; preview {measured.url}: Lighthouse {scores}"
        return Release(shown.target, preview, artifact=built.digest, measured=measured)

    async def _measure(
        self, task: DeployTask, built: Build, check: AbstractPreviewCheck
    ) -> Measured:
        """The job's preview release of ``built`` (made now unless a redelivery finds it),
        measured at its preview URL."""
        tenant, site_id = task.tenant_id, rv.site_id(task.tenant_id, _repo(task), TARGET)
        site = await self.releasing.sites.get(tenant, site_id)
        release = site.preview_of_job(task.job_id, built.name)
        if release is None:
            try:
                release = await self.releasing.release(tenant, site_id, built.name)
            except ReleaseRefusedError as error:
                raise SiteBuildError(str(error)) from error
            site = await self.releasing.sites.get(tenant, site_id)
        url = site.releases[release].preview_url
        return Measured(release, url, await check.scores(release, url), check.bar)

    async def publishing_digest(self, task: DeployTask) -> str:
        built = await self._job_build(task)
        return approval_digest(task.change, built.digest if built else None)

    async def roll_back(self, task: DeployTask) -> str:
        """The job's branch goes; on a site, the job's release in canary or serving is rolled
        back (to the release before it: nothing is rebuilt). The URL serving now."""
        shown = await self.branch.roll_back(task)
        site = await self._site(task)
        if site is None:
            return shown  # no site: the branch was the deploy
        live = {site.stable, site.canary.release if site.canary else None}
        for release in site.releases_of_job(task.job_id):
            if release in live:
                by = f"job:{task.job_id}"
                await self.releasing.roll_back(
                    task.tenant_id, site.site_id, release, by, by_user=False
                )
        return serving_url(site, self.releasing.edge.port)

    async def deploy(self, task: DeployTask) -> Deployment:
        """The branch, then the build approved (``Deploying`` checked its digest): released at
        its preview URL and rolled out. A deploy approved before digests builds here."""
        delivered = await self.branch.deploy(task)
        if delivered.branch is None:
            return delivered
        built = await self._job_build(task)
        if built is None:
            plan = None if task.approved_digest else await self._site_plan(task)
            if plan is None:
                return delivered  # no site: the branch is the deploy
            built = await self._build(task, plan)
        tenant, site_id = task.tenant_id, rv.site_id(task.tenant_id, _repo(task), TARGET)
        site = await self.releasing.sites.get(tenant, site_id)
        release = site.preview_of_job(task.job_id, built.name)  # measured before the approval
        if release is None:
            if site.releases_of_job(task.job_id):  # a redelivery after a crash: rolled out
                return await self._deployment(tenant, site_id, delivered, task)
            try:
                release = await self.releasing.release(tenant, site_id, built.name)
            except ReleaseRefusedError as error:
                raise SiteBuildError(str(error)) from error
        await self.releasing.roll_out(tenant, site_id, release)
        return await self._deployment(tenant, site_id, delivered, task)

    async def _site_plan(self, task: DeployTask) -> BuildPlan | None:
        """How the job's tree builds as a site; None when it is no site."""
        target, commit = await self.branch.commit_of(task)
        paths, package = await asyncio.to_thread(site_tree, target, commit)
        try:
            return detect_site(paths, package)
        except BuildDetectionError as error:
            raise SiteBuildError(str(error)) from error

    async def _site(self, task: DeployTask) -> Site | None:
        tenant = task.tenant_id
        try:
            return await self.releasing.sites.get(tenant, rv.site_id(tenant, _repo(task), TARGET))
        except SiteNotFoundError:
            return None

    async def _job_build(self, task: DeployTask) -> Build | None:
        """The job's newest finished build (what its approval was shown)."""
        site = await self._site(task)
        builds = [] if site is None else list(site.builds.values())
        done = [b for b in builds if b.source_job == task.job_id and b.digest is not None]
        return done[-1] if done else None

    async def _build(self, task: DeployTask, plan: BuildPlan) -> Build:
        """The job's finished build, or a new one in the sandbox (``SiteBuildError`` if it
        fails, with its output)."""
        found = await self._job_build(task)
        if found is not None:  # a redelivery: built already
            return found
        change, tenant = task.change, task.tenant_id
        source = Source(change.repo, change.base_commit or change.base_ref, change.patches)
        cause = Cause("deployer", self.releasing.clock(), None)
        site = await self.releasing.sites.ensure(tenant, cause, _repo(task), TARGET)
        try:  # an unknown provider or missing credentials: refused before any build
            await self.releasing.target_of(tenant, site)
        except ReleaseRefusedError as error:
            raise SiteBuildError(str(error)) from error
        with tempfile.TemporaryDirectory(prefix="bdg-site-build-") as tmp:
            outcome = await self.builder.build(tenant, source, Path(tmp) / "site")
            name = await self.releasing.store_build(
                tenant, site.site_id, outcome.folder, plan.command, task.job_id, outcome.output
            )
        built = (await self.releasing.sites.get(tenant, site.site_id)).builds[name]
        if built.failed is not None:
            raise SiteBuildError(f"the site's build ({plan.command}) failed:\n{built.failed}")
        return built

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


def _repo(task: DeployTask) -> str:
    return rv.job_site_repo(task.change.repo, task.job_id)

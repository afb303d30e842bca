"""Deployer use cases: ask for deploy approval, deploy, roll back.

The approval names a digest of what was shown (``approval_digest``); before publishing, the
digest of what would be published is computed again, and a difference fails the step with both
digests named: nothing unapproved goes out. When the provider measured the preview release
(``Release.measured``), the scores are recorded first, and a score below the operator's bar
ends the job there: the deploy is never offered.
"""

from __future__ import annotations

from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bdg_contracts.states import JobState
from bdg_deployer.adapters import AbstractDeployProvider
from bdg_deployer.domain import Deployment, DeployTask, approval_digest, change_of
from bdg_jobs.aggregate import Cause
from bdg_jobs.domain import Job
from bdg_runtime.reactions import Delivery, StepError


class UnapprovedDeployError(StepError):
    """What would be published is not what was approved."""


async def _task(delivery: Delivery[Event], job: Job) -> DeployTask:
    history = await delivery.history()  # the read job_to_work_on made
    return DeployTask(
        job.job_id,
        job.tenant_id,
        job.goal,
        job.deployed_url,
        change_of(history),
        approved_at=delivery.event.occurred_at,
        delivered=job.delivered_branch,
        approved_digest=job.deploy_digest,
    )


class Deploying:
    def __init__(self, provider: AbstractDeployProvider) -> None:
        self.provider = provider

    async def request_approval(self, delivery: Delivery[ev.ReviewCompleted]) -> None:
        job = await delivery.job_to_work_on(JobState.reviewing)
        if job is None:
            return
        task = await _task(delivery, job)
        release = await self.provider.prepare(task)
        digest = release.digest
        if digest is None:
            digest = approval_digest(task.change, release.artifact)
        measured = release.measured

        def decide(job: Job, cause: Cause) -> None:
            if measured is not None:  # the preview's scores first: below the bar, no approval
                m = measured
                if not job.measure_preview(cause, m.release, m.url, dict(m.scores), m.bar):
                    return
            job.await_deploy_approval(cause, release.target, release.preview, digest)

        await delivery.react(decide)

    async def deploy(self, delivery: Delivery[ev.DeployApproved]) -> None:
        job = await delivery.job_to_work_on(JobState.deploying)
        if job is None:
            return
        done = await self.publish(await _task(delivery, job), delivery.event.digest)
        await delivery.react(
            lambda job, cause: job.deploy(cause, done.url, done.canary, done.branch)
        )

    async def publish(self, task: DeployTask, approved: str) -> Deployment:
        """Deploy what was approved, or nothing: ``approved`` is "" for approvals recorded
        before digests."""
        if approved:
            now = await self.provider.publishing_digest(task)
            if now != approved:
                raise UnapprovedDeployError(
                    f"the deploy approved has digest {approved}, what would be published now "
                    f"has {now}: nothing was published; ask for approval again"
                )
        return await self.provider.deploy(task)

    async def roll_back(self, delivery: Delivery[ev.RollbackRequested]) -> None:
        job = await delivery.job_to_work_on(JobState.deploying)
        if job is None:
            return
        to_url = await self.provider.roll_back(await _task(delivery, job))
        await delivery.react(lambda job, cause: job.roll_back(cause, to_url))

"""Deployer use cases: ask for deploy approval, deploy, roll back."""

from __future__ import annotations

from bdg_contracts.states import JobState
from bdg_deployer.adapters import AbstractDeployProvider
from bdg_deployer.domain import DeployTask
from bdg_jobs.domain import Job
from bdg_runtime.reactions import Delivery


async def _job_to_work_on(delivery: Delivery, state: JobState) -> Job | None:
    """The job, unless this service already reacted or the job is no longer in ``state``
    (a redelivery, or a job that moved on): then the slow work is skipped."""
    job = await delivery.app.load(delivery.event.job_id)
    if job.has_reacted(delivery.service, delivery.event.event_id) or job.state != state:
        return None
    return job


def _task(job: Job) -> DeployTask:
    return DeployTask(job.job_id, job.tenant_id, job.goal, job.deployed_url)


class Deploying:
    def __init__(self, provider: AbstractDeployProvider) -> None:
        self.provider = provider

    async def request_approval(self, delivery: Delivery) -> None:
        job = await _job_to_work_on(delivery, JobState.reviewing)
        if job is None:
            return
        release = await self.provider.prepare(_task(job))
        await delivery.react(
            lambda job, cause: job.await_deploy_approval(cause, release.target, release.preview)
        )

    async def deploy(self, delivery: Delivery) -> None:
        job = await _job_to_work_on(delivery, JobState.deploying)
        if job is None:
            return
        done = await self.provider.deploy(_task(job))
        await delivery.react(lambda job, cause: job.deploy(cause, done.url, done.canary))

    async def roll_back(self, delivery: Delivery) -> None:
        job = await _job_to_work_on(delivery, JobState.deploying)
        if job is None:
            return
        to_url = await self.provider.roll_back(_task(job))
        await delivery.react(lambda job, cause: job.roll_back(cause, to_url))

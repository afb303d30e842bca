"""Deployer use cases: ask for deploy approval, deploy, roll back."""

from __future__ import annotations

from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bdg_contracts.states import JobState
from bdg_deployer.adapters import AbstractDeployProvider
from bdg_deployer.domain import DeployTask, change_of
from bdg_jobs.domain import Job
from bdg_runtime.reactions import Delivery


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
    )


class Deploying:
    def __init__(self, provider: AbstractDeployProvider) -> None:
        self.provider = provider

    async def request_approval(self, delivery: Delivery[ev.ReviewCompleted]) -> None:
        job = await delivery.job_to_work_on(JobState.reviewing)
        if job is None:
            return
        release = await self.provider.prepare(await _task(delivery, job))
        await delivery.react(
            lambda job, cause: job.await_deploy_approval(cause, release.target, release.preview)
        )

    async def deploy(self, delivery: Delivery[ev.DeployApproved]) -> None:
        job = await delivery.job_to_work_on(JobState.deploying)
        if job is None:
            return
        done = await self.provider.deploy(await _task(delivery, job))
        await delivery.react(
            lambda job, cause: job.deploy(cause, done.url, done.canary, done.branch)
        )

    async def roll_back(self, delivery: Delivery[ev.RollbackRequested]) -> None:
        job = await delivery.job_to_work_on(JobState.deploying)
        if job is None:
            return
        to_url = await self.provider.roll_back(await _task(delivery, job))
        await delivery.react(lambda job, cause: job.roll_back(cause, to_url))

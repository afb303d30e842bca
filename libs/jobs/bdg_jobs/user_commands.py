"""Use cases of users and operators (gateway and CLI): one method per command.

Every command checks the caller's tenant first: another tenant's job does not exist for them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

from bdg_contracts import commands as cmd
from bdg_contracts.base import Event
from bdg_contracts.clone_dns import check_host_async
from bdg_contracts.ids import check_tenant, new_event_id, new_job_id
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Cause, Job
from bdg_jobs.errors import ErasedDataError, JobNotFoundError
from bdg_jobs.forks import fork_history
from bdg_jobs.personal.cipher import ERASED
from bdg_jobs.personal.consents import Consents
from bdg_jobs.sources import SourceRules, names_a_path
from bdg_jobs.store import Recorded
from bdg_jobs.tenants import TenantPolicies
from bdg_telemetry import tracing

Redrive = Callable[[UUID], Awaitable[Event | None]]


async def no_redrive(job_id: UUID) -> None:
    return None


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    user_id: str
    # A tenant admin (the token's ``roles`` claim holds "admin"): sets the tenant's budget caps.
    admin: bool = False

    def cause(self, app: JobApplication, traceparent: str | None = None) -> Cause:
        # Commands have no causing event; a fresh id still lets a reaction point at them.
        return Cause(
            producer=f"user:{self.user_id}",
            occurred_at=app.clock(),
            causation_id=new_event_id(),
            user_id=self.user_id,
            # The request's span (gateway) when tracing: the job's trace starts there.
            traceparent=traceparent or tracing.current_traceparent(),
        )


def _retry(job: Job, cause: Cause) -> None:
    job.retry_step(cause)


class JobCommands:
    def __init__(
        self,
        app: JobApplication,
        redrive: Redrive = no_redrive,
        policies: TenantPolicies | None = None,
        sources: SourceRules | None = None,
    ) -> None:
        """``sources`` unset: no tenant may name a local repository (clone URLs only)."""
        self.app, self.redrive = app, redrive
        self.policies = policies or TenantPolicies()
        self.sources = sources or SourceRules()

    async def get(self, caller: Caller, job_id: UUID, at_version: int | None = None) -> Job:
        job = await self.app.load(job_id, at_version)
        if job.tenant_id != caller.tenant_id:
            raise JobNotFoundError(f"no job {job_id}")
        if at_version is not None and job.version < at_version:
            raise JobNotFoundError(
                f"job {job_id} has no version {at_version} (it is at {job.version})"
            )
        return job

    async def events(self, caller: Caller, job_id: UUID, after: int = 0) -> list[Event]:
        await self.get(caller, job_id)
        return await self.app.history(job_id, after)

    async def fork(self, caller: Caller, job_id: UUID, command: cmd.ForkJob) -> Job:
        """A new job from the first ``command.at_version`` events of this one (see forks.py)."""
        history = await self.events(caller, job_id)
        repo = Job.replay(history[:1]).repo
        if repo == ERASED:  # a 409: the request is valid, the job's data is gone
            raise ErasedDataError(f"job {job_id}'s repository was erased: it cannot be forked")
        # Grants change: the repository is judged again, as for a new job.
        await self.check_repo(caller, repo)
        cause = caller.cause(self.app)
        copies = fork_history(history, command.at_version, new_job_id(), cause, command.models)
        await self.app.start_from(copies)
        return Job.replay(copies)

    async def create(
        self,
        caller: Caller,
        command: cmd.RequestJob,
        job_id: UUID | None = None,
        *,
        publish_in_background: bool = False,
    ) -> Job:
        """A new job, committed; published before this returns unless ``publish_in_background``
        (the gateway answers once committed: ``JobApplication.start``)."""
        check_tenant(caller.tenant_id)
        required = self.policies.for_tenant(caller.tenant_id).consent_required
        if required:  # the goal goes to models: refused before anything is written
            consents = Consents(self.app.store)
            await asyncio.to_thread(consents.require, caller.tenant_id, caller.user_id, required)
        fields = command.model_dump()
        fields["repo"] = await self.check_repo(caller, command.repo)
        if command.plan_approval is None:
            fields["plan_approval"] = self.policies.for_tenant(caller.tenant_id).plan_approval
        job = Job.request(
            job_id or new_job_id(), caller.tenant_id, caller.cause(self.app), **fields
        )
        await self.app.start(job, publish_in_background=publish_in_background)
        return job

    async def check_repo(self, caller: Caller, repo: str) -> str:
        """The repository as stored (a resolved path for a local one); SourceError if the
        caller's tenant may not name it. A path is judged in a thread (it reads the disk); a
        URL at once, so job creation queues behind no worker thread."""
        if names_a_path(repo):
            return await asyncio.to_thread(self.sources.check, caller.tenant_id, repo)
        checked = self.sources.check(caller.tenant_id, repo)
        # A host that resolves to an internal address is refused now; one that does not
        # resolve yet is judged again where it is fetched.
        allowed = self.sources.clone_hosts_for(caller.tenant_id)
        await check_host_async(checked, allowed, unresolved_ok=True)
        return checked

    async def _do(
        self, caller: Caller, job_id: UUID, decide: Callable[[Job, Cause], None]
    ) -> list[Recorded]:
        await self.get(caller, job_id)
        cause = caller.cause(self.app)
        return await self.app.execute(job_id, lambda job: decide(job, cause))

    async def edit_plan(self, caller: Caller, job_id: UUID, c: cmd.EditPlan) -> list[Recorded]:
        return await self._do(caller, job_id, lambda j, k: j.edit_plan(k, c.plan_markdown))

    async def approve_plan(self, caller: Caller, job_id: UUID) -> list[Recorded]:
        return await self._do(caller, job_id, lambda j, k: j.approve_plan(k, caller.user_id))

    async def approve_deploy(
        self, caller: Caller, job_id: UUID, digest: str | None = None
    ) -> list[Recorded]:
        """``digest``: the one shown to the caller (None: the one the job asks for)."""
        return await self._do(
            caller, job_id, lambda j, k: j.approve_deploy(k, caller.user_id, digest)
        )

    async def pause(self, caller: Caller, job_id: UUID, c: cmd.PauseJob) -> list[Recorded]:
        return await self._do(caller, job_id, lambda j, k: j.pause(k, c.reason))

    async def cancel(self, caller: Caller, job_id: UUID, c: cmd.CancelJob) -> list[Recorded]:
        return await self._do(caller, job_id, lambda j, k: j.cancel(k, c.reason))

    async def request_rollback(
        self, caller: Caller, job_id: UUID, c: cmd.RequestRollback
    ) -> list[Recorded]:
        return await self._do(caller, job_id, lambda j, k: j.request_rollback(k, c.reason))

    async def raise_budget(
        self, caller: Caller, job_id: UUID, c: cmd.RaiseBudget
    ) -> list[Recorded]:
        recorded = await self._do(caller, job_id, lambda j, k: j.raise_budget(k, c.limit_usd))
        await self.redrive(job_id)
        return recorded

    async def resume(self, caller: Caller, job_id: UUID) -> list[Recorded]:
        """Work dropped while paused is published again."""
        recorded = await self._do(caller, job_id, lambda j, k: j.resume(k))
        await self.redrive(job_id)
        return recorded

    async def retry(self, caller: Caller, job_id: UUID) -> list[Recorded]:
        """A failed step goes back to its state and its failed event is published again."""
        recorded = await self._do(caller, job_id, _retry)
        await self.redrive(job_id)
        return recorded

"""Commands: what a user or operator asks of a job (imperative names)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from bdg_contracts.base import Contract
from bdg_contracts.events import APPROVAL_DIGEST, ModelRole, PlanApprovalMode
from bdg_contracts.numbers import MAX_INT4, Amount
from bdg_contracts.text import NOT_BLANK, Text

Reason = Annotated[str, Text(2_000)]
Ref = Annotated[str, Text(200, min_len=1)]
Glob = Annotated[str, Text(500, min_len=1)]
ModelName = Annotated[
    str, Text(200, min_len=1, pattern=NOT_BLANK, hint="a model name cannot be empty")
]


class RequestJob(Contract):
    goal: Annotated[str, Text(10_000, min_len=1)]
    # A clone URL, or a granted work tree's top: bdg_jobs.sources judges it (422 naming the rule).
    repo: str = Field(default="", max_length=2_000)
    base_ref: Annotated[str, Text(200)] = "HEAD"
    # None: the tenant's choice (auto-approve or gated).
    plan_approval: PlanApprovalMode | None = None
    max_attempts: int = Field(default=5, ge=1, le=20)


class ForkJob(Contract):
    """A new job from the first ``at_version`` events of this one, its model calls from then on
    made with ``models`` (role -> model; roles not named keep the configured model)."""

    at_version: int = Field(ge=1, le=MAX_INT4)
    models: dict[ModelRole, ModelName] = Field(default_factory=dict)


class EditPlan(Contract):
    plan_markdown: Annotated[str, Text(100_000, min_len=1)]


class ApprovePlan(Contract):
    """The plan as it stands is approved by the caller."""


class ApproveDeploy(Contract):
    """The reviewed change may be deployed: ``digest`` is the one the caller was shown
    (``deploy_digest`` of the job); another one is refused. None: the one the job asks for."""

    digest: str | None = Field(
        default=None, pattern=APPROVAL_DIGEST, description="sha256:<64 hex>, as shown"
    )


class PauseJob(Contract):
    reason: Reason = ""


class ResumeJob(Contract):
    """A paused job continues where it stopped."""


class CancelJob(Contract):
    reason: Reason = ""


class RetryStep(Contract):
    """The failed step runs again from the event it failed on."""


class RequestRollback(Contract):
    reason: Annotated[str, Text(2_000, min_len=1)]


class RaiseBudget(Contract):
    limit_usd: Annotated[float, Amount(gt=0)]


class RegisterRepo(Contract):
    """Index a repository for the caller's tenant: a clone URL, or the top of a local work tree
    under a root granted to the tenant, as a job's (bdg_jobs.sources)."""

    repo: Annotated[str, Text(2_000, min_len=1)]
    ref: Ref = "HEAD"
    include: tuple[Glob, ...] | None = Field(
        default=None, max_length=200, description="globs; default code+docs"
    )
    exclude: tuple[Glob, ...] = Field(default=(), max_length=200)


class PromoteRelease(Contract):
    """A release serves the site's production URL (one click: nothing is rebuilt)."""

    reason: Reason = ""


class RollBackRelease(Contract):
    """A release in canary stops getting traffic, or a serving one gives way to the one before."""

    reason: Reason = ""

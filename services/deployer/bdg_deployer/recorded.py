"""Deploys answered rather than made: from a recorded script (``BDG_ANSWERS_FILE``: tests, the
demo) or, for a replay, from what the job's history recorded (a replay never deploys)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from pydantic import Field

from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bdg_deployer.adapters import AbstractDeployProvider
from bdg_deployer.domain import Deployment, DeployTask, Measured, Release
from bdg_runtime.answers import Answer, Answers, Scripts, ScriptView

PRODUCER = "deployer"
E = TypeVar("E")


class DeployAnswer(Answer):
    target: str = Field(min_length=1)
    preview: str = ""
    url: str = Field(min_length=1)
    rollback_url: str = Field(default="", description="where a rollback returns to")


class DeployerScript(ScriptView):
    """The deployer's section of a recorded script."""

    deploy: DeployAnswer


class RecordedDeployProvider(AbstractDeployProvider):
    def __init__(self, answers: Answers) -> None:
        self.scripts: Scripts[DeployerScript] = answers.read(DeployerScript)

    def _answer(self, task: DeployTask) -> DeployAnswer:
        return self.scripts.script_for(task.goal).deploy

    async def prepare(self, task: DeployTask) -> Release:
        a = self._answer(task)
        return Release(a.target, a.preview)

    async def deploy(self, task: DeployTask) -> Deployment:
        return Deployment(self._answer(task).url)

    async def roll_back(self, task: DeployTask) -> str:
        return self._answer(task).rollback_url


class MissingDeployError(LookupError):
    """The history holds no deployer answer for the reaction being replayed."""


class RecordedDeploys(AbstractDeployProvider):
    """The deployer's answers as the job's history recorded them, in order."""

    def __init__(self, history: Sequence[Event]) -> None:
        mine = [e for e in history if e.producer == PRODUCER]
        self.releases = [e for e in mine if isinstance(e, ev.DeployAwaitingApproval)]
        self.measured = [e for e in mine if isinstance(e, ev.PreviewMeasured)]
        self.deploys = [e for e in mine if isinstance(e, ev.Deployed)]
        self.rollbacks = [e for e in mine if isinstance(e, ev.RolledBack)]

    async def prepare(self, task: DeployTask) -> Release:
        """The preview's recorded scores first: a job they stopped has no approval request."""
        m = self.measured.pop(0) if self.measured else None
        measured = None if m is None else Measured(m.release, m.url, dict(m.scores), m.bar)
        if measured is not None and m is not None and m.below_bar():
            return Release("", measured=measured)
        e = _next(self.releases, "deploy approval request")
        return Release(e.target, e.preview, digest=e.digest, measured=measured)

    async def publishing_digest(self, task: DeployTask) -> str:
        return task.approved_digest  # a replay publishes nothing: the record was checked

    async def deploy(self, task: DeployTask) -> Deployment:
        e = _next(self.deploys, "deploy")
        return Deployment(e.url, e.canary, e.branch)

    async def roll_back(self, task: DeployTask) -> str:
        return _next(self.rollbacks, "rollback").to_url


def _next(recorded: list[E], what: str) -> E:
    if not recorded:
        raise MissingDeployError(f"no recorded {what} of the deployer's to replay")
    return recorded.pop(0)

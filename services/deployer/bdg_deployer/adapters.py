"""The deployer's outside world: a deploy provider (cloud APIs, later).

Only recorded answers exist for now (``BDG_ANSWERS_FILE``).
"""

from __future__ import annotations

import abc

from bdg_deployer.domain import Deployment, DeployTask, Release
from bdg_runtime.answers import Answers, DeployAnswer


class AbstractDeployProvider(abc.ABC):
    @abc.abstractmethod
    async def prepare(self, task: DeployTask) -> Release:
        """Where the job would go, and a preview for the approver."""

    @abc.abstractmethod
    async def deploy(self, task: DeployTask) -> Deployment: ...

    @abc.abstractmethod
    async def roll_back(self, task: DeployTask) -> str:
        """Undo ``task.deployed_url``; returns the URL now serving (may be empty)."""


class RecordedDeployProvider(AbstractDeployProvider):
    def __init__(self, answers: Answers) -> None:
        self.answers = answers

    def _answer(self, task: DeployTask) -> DeployAnswer:
        return self.answers.script_for(task.goal).deploy

    async def prepare(self, task: DeployTask) -> Release:
        a = self._answer(task)
        return Release(a.target, a.preview)

    async def deploy(self, task: DeployTask) -> Deployment:
        return Deployment(self._answer(task).url)

    async def roll_back(self, task: DeployTask) -> str:
        return self._answer(task).rollback_url

"""The deployer's outside world: a deploy provider.

The default is ``GitBranchDeployer`` (git_branch.py): the change as a branch of the job's
repository. ``RecordedDeployProvider`` (recorded.py) answers from ``BDG_ANSWERS_FILE`` for tests
and the demo; ``RecordedDeploys`` (recorded.py) from a job's own history, for a replay.
"""

from __future__ import annotations

import abc

from bdg_deployer.domain import Deployment, DeployTask, Release, approval_digest


class AbstractDeployProvider(abc.ABC):
    @abc.abstractmethod
    async def prepare(self, task: DeployTask) -> Release:
        """Where the job would go, and a preview for the approver."""

    @abc.abstractmethod
    async def deploy(self, task: DeployTask) -> Deployment: ...

    @abc.abstractmethod
    async def roll_back(self, task: DeployTask) -> str:
        """Undo ``task.deployed_url``; returns the URL now serving (may be empty)."""

    async def publishing_digest(self, task: DeployTask) -> str:
        """The approval digest of what ``deploy`` would publish now: the change alone, unless
        the provider builds an artifact (checked against the approved digest first)."""
        return approval_digest(task.change, None)

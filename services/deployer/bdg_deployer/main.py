"""Deployer service: asks for deploy approval after an approving review, deploys, rolls back.

Composition root: recorded answers are read here, before anything connects.
"""

from __future__ import annotations

from bdg_deployer.adapters import RecordedDeployProvider
from bdg_deployer.application import Deploying
from bdg_deployer.handlers import DeployerHandlers
from bdg_runtime.answers import Answers
from bdg_runtime.job_replay import ReplaySources
from bdg_runtime.reactions import Reaction
from bdg_runtime.recorded_service import Handlers, run_recorded

NAME = "deployer"


def build(answers: Answers) -> Handlers:
    return DeployerHandlers(Deploying(RecordedDeployProvider(answers)))


def replay_reactions(sources: ReplaySources) -> list[Reaction]:
    """The same handlers, answered from the recorded script again."""
    return build(sources.answers).reactions()


def run() -> None:
    run_recorded(NAME, build)


if __name__ == "__main__":
    run()

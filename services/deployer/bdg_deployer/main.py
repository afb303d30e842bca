"""Deployer service: asks for deploy approval after an approving review, deploys, rolls back.

Composition root. By default the change is delivered as a branch of the job's repository
(git_branch.py); with ``BDG_ANSWERS_FILE`` set (tests, the demo) deploys are answered from its
recorded script. Recorded answers are read here, before anything connects.
"""

from __future__ import annotations

import logging
from pathlib import Path

from bdg_deployer.adapters import AbstractDeployProvider
from bdg_deployer.application import Deploying
from bdg_deployer.git_branch import GitBranchDeployer
from bdg_deployer.handlers import DeployerHandlers
from bdg_deployer.recorded import DeployerScript, RecordedDeployProvider, RecordedDeploys
from bdg_runtime import service
from bdg_runtime.answers import Answers, answers_or_exit, report
from bdg_runtime.job_replay import ReplaySources
from bdg_runtime.reactions import AnyReaction
from bdg_runtime.settings import Settings

NAME = "deployer"
log = logging.getLogger("bdg_deployer")


def clones_dir(settings: Settings) -> Path:
    """Where the deployer keeps its clones of jobs' URL sources."""
    return settings.bdg_home.expanduser().resolve() / "deploys"


def build(answers: Answers, settings: Settings | None = None) -> DeployerHandlers:
    provider: AbstractDeployProvider
    if answers.source:  # recorded answers were asked for (BDG_ANSWERS_FILE): tests, the demo
        provider = RecordedDeployProvider(answers)
    else:
        provider = GitBranchDeployer(clones_dir(settings or Settings()))
    return DeployerHandlers(Deploying(provider))


def replay_reactions(sources: ReplaySources) -> list[AnyReaction]:
    """The same handlers, each deploy answered as the job's history recorded it, whether a
    branch was delivered or a script answered (a replay never deploys)."""
    return DeployerHandlers(Deploying(RecordedDeploys(sources.history))).reactions()


def run() -> None:
    answers = answers_or_exit(NAME, DeployerScript)
    settings = Settings()

    def reactions(ctx: service.ServiceContext) -> list[AnyReaction]:
        handlers = build(answers, settings)
        if answers.source:
            report(answers, log)
        else:
            log.info("deploys: a branch bdg/<job> in each job's repository")
        return handlers.reactions()

    service.run(NAME, reactions)


if __name__ == "__main__":
    run()

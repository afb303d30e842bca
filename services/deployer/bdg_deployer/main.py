"""Deployer service: asks for deploy approval after an approving review, deploys, rolls back.

Composition root: recorded answers are read here, before anything connects.
"""

from __future__ import annotations

import logging

from bdg_deployer.adapters import RecordedDeployProvider
from bdg_deployer.application import Deploying
from bdg_deployer.handlers import DeployerHandlers
from bdg_runtime import service
from bdg_runtime.answers import answers_or_exit, report
from bdg_runtime.reactions import Reaction

NAME = "deployer"
log = logging.getLogger("bdg_deployer")


def run() -> None:
    answers = answers_or_exit(NAME)
    handlers = DeployerHandlers(Deploying(RecordedDeployProvider(answers)))

    def reactions(ctx: service.ServiceContext) -> list[Reaction]:
        report(answers, log)
        return handlers.reactions()

    service.run(NAME, reactions)


if __name__ == "__main__":
    run()

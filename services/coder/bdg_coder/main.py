"""Coder service: turns an approved plan (or failed tests, or a rejecting review) into patches.

Composition root: recorded answers are read here, before anything connects.
"""

from __future__ import annotations

import logging

from bdg_coder.adapters import RecordedCoder
from bdg_coder.application import Coding
from bdg_coder.handlers import CoderHandlers
from bdg_runtime import service
from bdg_runtime.answers import answers_or_exit, report
from bdg_runtime.reactions import Reaction

NAME = "coder"
log = logging.getLogger("bdg_coder")


def run() -> None:
    answers = answers_or_exit(NAME)
    handlers = CoderHandlers(Coding(RecordedCoder(answers)))

    def reactions(ctx: service.ServiceContext) -> list[Reaction]:
        report(answers, log)
        return handlers.reactions()

    service.run(NAME, reactions)


if __name__ == "__main__":
    run()

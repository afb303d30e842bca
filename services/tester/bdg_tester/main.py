"""Tester service: runs the tests of every finished coding attempt.

Composition root: recorded answers are read here, before anything connects. The runtime
reports whether a sandbox answers; recorded test runs need none.
"""

from __future__ import annotations

import logging

from bdg_runtime import service
from bdg_runtime.answers import answers_or_exit, report
from bdg_runtime.reactions import Reaction
from bdg_tester.adapters import RecordedTestRunner
from bdg_tester.application import Testing
from bdg_tester.handlers import TesterHandlers

NAME = "tester"
log = logging.getLogger("bdg_tester")


def run() -> None:
    answers = answers_or_exit(NAME)
    handlers = TesterHandlers(Testing(RecordedTestRunner(answers)))

    def reactions(ctx: service.ServiceContext) -> list[Reaction]:
        report(answers, log)
        return handlers.reactions()

    service.run(NAME, reactions)


if __name__ == "__main__":
    run()

"""Running a step service whose answers are recorded (BDG_ANSWERS_FILE): the composition root
the coder, tester and deployer share until their model- and sandbox-driven adapters exist."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from bdg_runtime import service
from bdg_runtime.answers import Answers, answers_or_exit, report
from bdg_runtime.reactions import Reaction


class Handlers(Protocol):
    def reactions(self) -> list[Reaction]: ...


def run_recorded(name: str, build: Callable[[Answers], Handlers]) -> None:
    """Read the answers before anything connects (a broken file exits 2), then serve."""
    answers = answers_or_exit(name)
    handlers = build(answers)
    log = logging.getLogger(f"bdg_{name}")

    def reactions(ctx: service.ServiceContext) -> list[Reaction]:
        report(answers, log)
        return handlers.reactions()

    service.run(name, reactions)

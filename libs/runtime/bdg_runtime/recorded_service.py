"""Running a step service whose answers are recorded (BDG_ANSWERS_FILE): the composition root
the coder and deployer share when the file is set (tests, the demo)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from bdg_runtime import service
from bdg_runtime.answers import Answers, ScriptView, answers_or_exit, report
from bdg_runtime.reactions import AnyReaction


class Handlers(Protocol):
    def reactions(self) -> list[AnyReaction]: ...


def run_recorded(name: str, build: Callable[[Answers], Handlers], *views: type[ScriptView]) -> None:
    """Read the answers before anything connects (a broken file exits 2), then serve."""
    answers = answers_or_exit(name, *views)
    handlers = build(answers)
    log = logging.getLogger(f"bdg_{name}")

    def reactions(ctx: service.ServiceContext) -> list[AnyReaction]:
        report(answers, log)
        return handlers.reactions()

    service.run(name, reactions)

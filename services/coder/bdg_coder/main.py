"""Coder service: turns an approved plan (or failed tests, or a rejecting review) into patches.

Composition root: recorded answers are read here, before anything connects.
"""

from __future__ import annotations

from bdg_coder.adapters import RecordedCoder
from bdg_coder.application import Coding
from bdg_coder.handlers import CoderHandlers
from bdg_runtime.answers import Answers
from bdg_runtime.job_replay import ReplaySources
from bdg_runtime.reactions import Reaction
from bdg_runtime.recorded_service import Handlers, run_recorded

NAME = "coder"


def build(answers: Answers) -> Handlers:
    return CoderHandlers(Coding(RecordedCoder(answers)))


def replay_reactions(sources: ReplaySources) -> list[Reaction]:
    """The same handlers, answered from the recorded script again."""
    return build(sources.answers).reactions()


def run() -> None:
    run_recorded(NAME, build)


if __name__ == "__main__":
    run()

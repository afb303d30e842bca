"""Tester service: runs the tests of every finished coding attempt.

Composition root: recorded answers are read here, before anything connects. The runtime
reports whether a sandbox answers; recorded test runs need none.
"""

from __future__ import annotations

from bdg_runtime.answers import Answers
from bdg_runtime.job_replay import ReplaySources
from bdg_runtime.reactions import Reaction
from bdg_runtime.recorded_service import Handlers, run_recorded
from bdg_tester.adapters import RecordedTestRunner
from bdg_tester.application import Testing
from bdg_tester.handlers import TesterHandlers

NAME = "tester"


def build(answers: Answers) -> Handlers:
    return TesterHandlers(Testing(RecordedTestRunner(answers)))


def replay_reactions(sources: ReplaySources) -> list[Reaction]:
    """The same handlers, answered from the recorded script again."""
    return build(sources.answers).reactions()


def run() -> None:
    run_recorded(NAME, build)


if __name__ == "__main__":
    run()

"""The coder answered from a recorded script (``BDG_ANSWERS_FILE``: tests, the demo): its
section of the script (``coding[]``, one entry per attempt, each the patches it makes) and the
coder that reads it. For a replay of such a job, ``LoggedCoder`` answers from what the job's
history recorded."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from bdg_coder.adapters import AbstractCoder, Session
from bdg_coder.domain import Changes, CodingTask, Patch
from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bdg_runtime.answers import Answer, Answers, Scripts, ScriptView, pick


class PatchAnswer(Answer):
    paths: tuple[str, ...] = Field(min_length=1)
    patch: str = Field(min_length=1, description="unified diff")


class CodingAnswer(Answer):
    patches: tuple[PatchAnswer, ...] = ()
    summary: str = ""


class CoderScript(ScriptView):
    """The coder's section of a recorded script."""

    coding: tuple[CodingAnswer, ...] = Field(min_length=1)


class RecordedCoder(AbstractCoder):
    def __init__(self, answers: Answers) -> None:
        self.scripts: Scripts[CoderScript] = answers.read(CoderScript)

    async def code(self, task: CodingTask, session: Session) -> Changes:
        answer = pick(self.scripts.script_for(task.goal).coding, task.attempt)
        patches = tuple(Patch(p.paths, p.patch) for p in answer.patches)
        return Changes(patches, answer.summary)


class MissingAttemptError(LookupError):
    """The job's history holds no coding attempt of that number to replay."""


class LoggedCoder(AbstractCoder):
    """For a replay of a job coded from a script: each attempt's patches and summary as the
    job's history recorded them (a replay never reads the answers file)."""

    def __init__(self, history: Sequence[Event], producer: str = "coder") -> None:
        self.history = [e for e in history if e.producer == producer]

    async def code(self, task: CodingTask, session: Session) -> Changes:
        changed = [
            e for e in self.history if isinstance(e, ev.FilesChanged) and e.attempt == task.attempt
        ]
        finished = [
            e
            for e in self.history
            if isinstance(e, ev.CodingFinished) and e.attempt == task.attempt
        ]
        if not finished:
            raise MissingAttemptError(f"no recorded coding attempt {task.attempt} to replay")
        patches = tuple(Patch(e.paths, e.patch) for e in changed)
        return Changes(patches, finished[0].summary, base_commit=finished[0].base_commit)

"""The coder answered from a recorded script (``BDG_ANSWERS_FILE``: tests, the demo): its
section of the script (``coding[]``, one entry per attempt, each the patches it makes) and the
coder that reads it."""

from __future__ import annotations

from pydantic import Field

from bdg_coder.adapters import AbstractCoder, Session
from bdg_coder.domain import Changes, CodingTask, Patch
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

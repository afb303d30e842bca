"""The coder's outside world: something that turns a plan into patches (an LLM tool loop,
later). Only recorded answers exist for now (``BDG_ANSWERS_FILE``)."""

from __future__ import annotations

import abc

from bdg_coder.domain import Changes, CodingTask, Patch
from bdg_runtime.answers import Answers, pick


class AbstractCoder(abc.ABC):
    @abc.abstractmethod
    async def code(self, task: CodingTask) -> Changes: ...


class RecordedCoder(AbstractCoder):
    def __init__(self, answers: Answers) -> None:
        self.answers = answers

    async def code(self, task: CodingTask) -> Changes:
        answer = pick(self.answers.script_for(task.goal).coding, task.attempt)
        patches = tuple(Patch(p.paths, p.patch) for p in answer.patches)
        return Changes(patches, answer.summary)

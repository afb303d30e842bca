"""Recorded answers: what the model-driven steps would have answered, read from a JSON file.

The step services take their outside results (plans, critiques, patches, test runs, reviews,
deploys) from ``BDG_ANSWERS_FILE`` until the real adapters exist, the way deterministic tests
take model answers from recordings. The file holds one script per goal and an optional default::

    {"default": {...script...}, "goals": {"<goal>": {...script...}}}

A script has the sections ``plan {drafts[], critiques[]}``, ``coding[]``, ``tests[]``,
``review[]`` and ``deploy``; list entries are chosen by iteration, attempt or round number
(1-based) and the last entry answers every later number (``pick``).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bdg_runtime.reactions import StepError

T = TypeVar("T")


class AnswersError(StepError):
    """The answers file is missing, unreadable or has no script for a goal: retrying the same
    delivery cannot help, so the step fails at once."""


class AnswersSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    bdg_answers_file: Path | None = Field(
        default=None, description="JSON file of recorded step answers (examples/reference-job.json)"
    )


class Answer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Critique(Answer):
    score: int = Field(ge=1, le=10)
    risks: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()


class PlanAnswers(Answer):
    drafts: tuple[str, ...] = Field(min_length=1)
    critiques: tuple[Critique, ...] = Field(min_length=1)


class Patch(Answer):
    paths: tuple[str, ...] = Field(min_length=1)
    patch: str = Field(min_length=1, description="unified diff")


class CodingAnswer(Answer):
    patches: tuple[Patch, ...] = ()
    summary: str = ""


class TestRunAnswer(Answer):
    __test__: ClassVar[bool] = False  # not a pytest class

    passed: bool
    total: int = Field(default=0, ge=0)
    failed: int = Field(default=0, ge=0)
    coverage: float | None = Field(default=None, ge=0, le=100)
    analysis: str = ""
    output_tail: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.failed > self.total:
            raise ValueError("failed cannot exceed total")
        if self.passed and self.failed:
            raise ValueError("a passing run has no failed tests")
        return self


class ReviewAnswer(Answer):
    approved: bool
    score: int = Field(ge=1, le=10)
    notes: str = ""


class DeployAnswer(Answer):
    target: str = Field(min_length=1)
    preview: str = ""
    url: str = Field(min_length=1)
    rollback_url: str = Field(default="", description="where a rollback returns to")


class Script(Answer):
    plan: PlanAnswers
    coding: tuple[CodingAnswer, ...] = Field(min_length=1)
    tests: tuple[TestRunAnswer, ...] = Field(min_length=1)
    review: tuple[ReviewAnswer, ...] = Field(min_length=1)
    deploy: DeployAnswer


class Answers(Answer):
    default: Script | None = None
    goals: dict[str, Script] = Field(default_factory=dict)
    source: str = Field(default="", exclude=True, description="where these were read from")

    @field_validator("goals")
    @classmethod
    def _strip_goals(cls, goals: dict[str, Script]) -> dict[str, Script]:
        return {goal.strip(): script for goal, script in goals.items()}

    def script_for(self, goal: str) -> Script:
        script = self.goals.get(goal.strip(), self.default)
        if script is None:
            where = self.source or "no answers file (set BDG_ANSWERS_FILE)"
            raise AnswersError(f"no recorded answers for goal {goal.strip()!r} in {where}")
        return script

    def describe(self) -> str:
        if not self.source:
            return "no BDG_ANSWERS_FILE set: every step fails with that reason until one is"
        default = ", and a default" if self.default else ", no default"
        return f"recorded answers from {self.source}: {len(self.goals)} goal(s){default}"


def report(answers: Answers, logger: logging.Logger) -> None:
    """One log line at start: where the answers come from (a warning when nowhere)."""
    logger.log(logging.INFO if answers.source else logging.WARNING, "%s", answers.describe())


def pick(entries: Sequence[T], number: int) -> T:
    """The entry for a 1-based iteration/attempt/round; the last one answers any later number."""
    if not entries:
        raise AnswersError("no recorded entries to pick from")
    if number < 1:
        raise ValueError(f"numbers start at 1, not {number}")
    return entries[min(number, len(entries)) - 1]


def load_answers(path: Path) -> Answers:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise AnswersError(f"cannot read answers file {path}: {error}") from error
    try:
        answers = Answers.model_validate_json(text)
    except ValidationError as error:
        raise AnswersError(f"invalid answers file {path}: {error}") from error
    return answers.model_copy(update={"source": str(path)})


def answers_or_exit(service: str) -> Answers:
    """For a service's ``main``: a broken answers file stops it before anything connects."""
    try:
        return answers_from_env()
    except AnswersError as error:
        print(f"{service}: {error}", file=sys.stderr)
        raise SystemExit(2) from error


def answers_from_env() -> Answers:
    """The file named by ``BDG_ANSWERS_FILE``, or no answers at all (every step then fails
    with a reason naming the variable)."""
    path = AnswersSettings().bdg_answers_file
    return load_answers(path) if path is not None else Answers()

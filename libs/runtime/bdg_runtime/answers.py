"""Recorded answers: the mechanism by which step services take scripted results from a file.

Until a step's real adapter runs (and in tests and the demo), a service can take its outside
results from ``BDG_ANSWERS_FILE``, the way deterministic tests take model answers from
recordings. The file holds one script per goal and an optional default::

    {"default": {...script...}, "goals": {"<goal>": {...script...}}}

This module knows only that shape: loading the file, choosing a goal's script, picking an entry
by number. What a script's sections hold is each service's own business: a service reads its
sections through a ``ScriptView`` of its own (the planner's ``plan`` and ``review``, the coder's
``coding``, the tester's ``tests``, the deployer's ``deploy``), checked when it starts.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
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
    """A section of a script, or a part of one: strict about its fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ScriptView(BaseModel):
    """The sections of a script one service reads (the others are not its business)."""

    model_config = ConfigDict(frozen=True, extra="ignore")


V = TypeVar("V", bound=ScriptView)


class Answers(BaseModel):
    """The file as read: scripts by goal, their sections left to the services' views."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default: dict[str, Any] | None = None
    goals: dict[str, dict[str, Any]] = Field(default_factory=dict)
    source: str = Field(default="", exclude=True, description="where these were read from")

    @field_validator("goals")
    @classmethod
    def _strip_goals(cls, goals: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {goal.strip(): script for goal, script in goals.items()}

    def describe(self) -> str:
        if not self.source:
            return "no BDG_ANSWERS_FILE set: every step fails with that reason until one is"
        default = ", and a default" if self.default else ", no default"
        return f"recorded answers from {self.source}: {len(self.goals)} goal(s){default}"

    def read(self, view: type[V]) -> Scripts[V]:
        """Every script seen through ``view``; a script that does not fit is an AnswersError
        naming the file, so a service refuses a broken file when it starts."""
        try:
            default = view.model_validate(self.default) if self.default is not None else None
            goals = {goal: view.model_validate(s) for goal, s in self.goals.items()}
        except ValidationError as error:
            where = self.source or "the recorded answers"
            raise AnswersError(f"invalid answers file {where}: {error}") from error
        return Scripts(self, default, goals)


@dataclass(frozen=True)
class Scripts(Generic[V]):
    """One service's view of every script in the file."""

    answers: Answers
    default: V | None
    goals: dict[str, V]

    @property
    def source(self) -> str:
        return self.answers.source

    def script_for(self, goal: str) -> V:
        script = self.goals.get(goal.strip(), self.default)
        if script is None:
            where = self.source or "no answers file (set BDG_ANSWERS_FILE)"
            raise AnswersError(f"no recorded answers for goal {goal.strip()!r} in {where}")
        return script


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


def answers_or_exit(service: str, *views: type[ScriptView]) -> Answers:
    """For a service's ``main``: a broken answers file (or one whose scripts do not fit the
    service's ``views``) stops it before anything connects."""
    try:
        answers = answers_from_env()
        for view in views:
            answers.read(view)
        return answers
    except AnswersError as error:
        print(f"{service}: {error}", file=sys.stderr)
        raise SystemExit(2) from error


def answers_from_env() -> Answers:
    """The file named by ``BDG_ANSWERS_FILE``, or no answers at all (every step then fails
    with a reason naming the variable)."""
    path = AnswersSettings().bdg_answers_file
    return load_answers(path) if path is not None else Answers()

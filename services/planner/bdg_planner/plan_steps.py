"""The plan as a few short steps: a draft that is short by construction, for small models.

A free markdown draft from the 0.5B model ran to its 600-token cap and was cut mid-line (and
once held 46 checkboxes). Asked through a JSON schema instead, the local server constrains
decoding to at most ``MAX_STEPS`` steps of bounded length; a token is at least one character,
so the whole answer fits in ``DRAFT_TOKENS`` (its cap) whatever the model does: it always ends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, Field

PlanFormat = Literal["checklist", "steps"]
MAX_STEPS = 4
FILE_CHARS = 60
# At 90 the 1.5B's steps were cut mid-word ("... leading or trailing hy") in 2 of 13 dev plans;
# its sentences run to about 120 characters.
CHANGE_CHARS = 150
# A step names its file and says what changes there: asked for a list of strings, the 0.5B
# model answered with bare file names ("src/clamp.js"), a plan that says nothing.
MIN_CHANGE_CHARS = 12
# {"steps": [ ... ]} and per step its keys, quotes, braces and commas: the JSON around the text.
_JSON_CHARS = len('{"steps": []}') + MAX_STEPS * len('{"file": "", "change": ""}, ')
DRAFT_TOKENS = MAX_STEPS * (FILE_CHARS + CHANGE_CHARS) + _JSON_CHARS  # >= the answer, always


class Step(BaseModel):
    file: Annotated[str, Field(min_length=1, max_length=FILE_CHARS)]
    change: Annotated[str, Field(min_length=MIN_CHANGE_CHARS, max_length=CHANGE_CHARS)]


class PlanAnswer(BaseModel):
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)


def plan_format_of(settings: Mapping[str, str]) -> PlanFormat:
    """The draft format a job recorded (none recorded: the checklist)."""
    return "steps" if settings.get("plan_format") == "steps" else "checklist"


def steps_checklist(steps: Iterable[Step]) -> str:
    """The steps as the markdown task list every later step reads; blank and repeated steps
    (a small model looping) left out, each on one line."""
    seen: set[str] = set()
    lines = []
    for step in steps:
        file, change = " ".join(step.file.split()), " ".join(step.change.split())
        if len(step.change) == CHANGE_CHARS:
            change += "…"  # the decoder ended it at the bound: say it was cut
        text = f"`{file}`: {change}" if file and change else file or change
        if text and text.lower() not in seen:
            seen.add(text.lower())
            lines.append(f"- [ ] {text}")
    return "\n".join(lines) + "\n" if lines else ""


_TEXT = r'"((?:[^"\\\n]|\\.)*)"'  # a JSON string on one line, its escapes kept
_STEP = re.compile(rf'\{{\s*"file"\s*:\s*{_TEXT}\s*,\s*"change"\s*:\s*{_TEXT}')


def salvaged_steps(content: str) -> list[Step]:
    """The steps of an answer that missed the schema (an endpoint that does not constrain
    decoding, a step out of bounds): every complete ``{"file": ..., "change": ...}`` in it, at
    most ``MAX_STEPS``, whatever their length (an answer cut mid-JSON keeps the steps it
    finished; prose gives none)."""
    found = []
    for match in _STEP.finditer(content):
        try:
            file, change = json.loads(f'"{match[1]}"'), json.loads(f'"{match[2]}"')
        except ValueError:
            continue
        found.append(Step.model_construct(file=file, change=change))
    return found[:MAX_STEPS]

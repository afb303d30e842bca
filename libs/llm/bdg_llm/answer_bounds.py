"""Every answer bounded, and local runs repeatable: the settings' cap per role and seed, added to
each request the client sends.

A small model left unbounded answered a 915-token prompt with 2,048 tokens of the same lines
(up to the server's own cap) and took minutes; the cap per role stops it early. A request that
brings its own ``max_tokens`` keeps it (the planner's roles do). ``temperature`` is the request's
(0 unless a caller asks otherwise) and ``seed`` fixes what sampling is left, so the same commit
gives the same answers from llama.cpp. Stop sequences do not apply: every bounded role but the
planner's draft answers under a JSON schema, whose grammar ends the answer at its closing brace.

These are the deployment's, the same for every call, so they are not part of a call's replay key
(``hashing.request_hash``): recordings made before still answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bdg_llm.api import Role

# Answer caps per role when neither the request nor the settings give one. The coder's covers a
# whole-file write of a small module; the others' answers are a checklist or a short JSON.
DEFAULT_MAX_TOKENS: Mapping[Role, int] = {
    "planner": 600,
    "critic": 400,
    "coder": 1024,
    "reviewer": 400,
}
CODER_SHARE_OF_CONTEXT = 4  # the coder's answer takes at most a quarter of a small context
LARGE_CODER_ANSWER = 4096
DEFAULT_SEED = 42


def coder_max_tokens(context_tokens: int | None) -> int:
    """A quarter of the served context (the rest holds the conversation), at most 4,096."""
    if context_tokens is None:
        return LARGE_CODER_ANSWER
    return min(LARGE_CODER_ANSWER, context_tokens // CODER_SHARE_OF_CONTEXT)


@dataclass(frozen=True)
class AnswerBounds:
    max_tokens: Mapping[Role, int] = field(default_factory=lambda: dict(DEFAULT_MAX_TOKENS))
    seed: int | None = DEFAULT_SEED

    def apply(self, kwargs: dict[str, Any], role: Role) -> dict[str, Any]:
        """``chat.completions.create``'s keyword arguments with the cap and the seed added."""
        out = dict(kwargs)
        if out.get("max_tokens") is None and role in self.max_tokens:
            out["max_tokens"] = self.max_tokens[role]
        if self.seed is not None and "seed" not in out:
            out["seed"] = self.seed
        return out

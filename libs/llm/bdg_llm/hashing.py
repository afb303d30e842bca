"""The replay key of a call: sha256 of the canonical JSON of what decides the answer.

Canonical: sorted keys, no whitespace, UTF-8 as is, floats as floats, no NaN; so the same request
gives the same hash in every process and on every run (never Python's ``hash``).

Messages are keyed by their stable text: the output of commands and test runs that a prompt
quotes carries durations, clock times and memory addresses that differ on every run and decide
nothing, so the key sees placeholders for them; a rerun of the same job asks the same request.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from bdg_llm.api import ChatRequest


def canonical_json(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


_VOLATILE = (
    (re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|s|sec|secs|seconds)\b"), "<duration>"),
    (re.compile(r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b"), "<time>"),
    (re.compile(r"\b0x[0-9a-fA-F]{6,}\b"), "<address>"),
    (re.compile(r"\bduration_ms:? \d+(?:\.\d+)?"), "duration_ms <duration>"),  # node --test
    (re.compile(r'\btime="\d+(?:\.\d+)?"'), 'time="<duration>"'),  # JUnit XML
)


def stable_text(text: str) -> str:
    """``text`` with its run-to-run noise (durations, clock times, addresses) replaced."""
    for pattern, placeholder in _VOLATILE:
        text = pattern.sub(placeholder, text)
    return text


def request_hash(model: str, request: ChatRequest) -> str:
    """sha256 hex of (model, messages (their stable text), schema (its name and strictness
    too), temperature, max_tokens, extra)."""
    schema = (
        None
        if request.schema is None
        else {"name": request.schema_name, "schema": request.schema, "strict": request.strict}
    )
    payload = {
        "model": model,
        "messages": [{"role": m.role, "content": stable_text(m.content)} for m in request.messages],
        "schema": schema,
        "temperature": float(request.temperature),
        "max_tokens": request.max_tokens,
        "extra": request.extra,
    }
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()

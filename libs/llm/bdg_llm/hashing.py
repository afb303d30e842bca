"""The replay key of a call: sha256 of the canonical JSON of what decides the answer.

Canonical: sorted keys, no whitespace, UTF-8 as is, floats as floats, no NaN; so the same request
gives the same hash in every process and on every run (never Python's ``hash``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from bdg_llm.api import ChatRequest


def canonical_json(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def request_hash(model: str, request: ChatRequest) -> str:
    """sha256 hex of (model, messages, schema (its name and strictness too), temperature,
    max_tokens, extra)."""
    schema = (
        None
        if request.schema is None
        else {"name": request.schema_name, "schema": request.schema, "strict": request.strict}
    )
    payload = {
        "model": model,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        "schema": schema,
        "temperature": float(request.temperature),
        "max_tokens": request.max_tokens,
        "extra": request.extra,
    }
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()

"""A call's two identities: a ULID per attempt, and the idempotency key shared by its repeats."""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID

from ulid import ULID

from bdg_llm.hashing import canonical_json


def new_call_id() -> str:
    return str(ULID())


def canonical_params(value: Any) -> str:
    """Sorted keys, no whitespace: equal arguments give equal text, whatever their order."""
    return canonical_json(value)


def call_key(job_id: UUID, tool: str, params: str, scope: str = "") -> str:
    """sha256 of (job, tool, canonical params, scope): a redelivered call has the same key."""
    payload = canonical_json({"job": str(job_id), "tool": tool, "params": params, "scope": scope})
    return hashlib.sha256(payload.encode()).hexdigest()

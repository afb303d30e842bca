"""An aggregate's state as plain JSON: what the stored-log test compares across code versions.

Every dataclass field of the aggregate, sets sorted, enums and models as their stored values, so
a snapshot written by older code compares equal to the same state rebuilt by newer code.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

from pydantic import BaseModel


def plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(plain(v) for v in value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(plain(k)): plain(v) for k, v in value.items()}
    return value


def snapshot(aggregate: Any) -> dict[str, Any]:
    """The aggregate's fields (not the pending events: a replayed aggregate has none)."""
    return {
        f.name: plain(getattr(aggregate, f.name))
        for f in dataclasses.fields(aggregate)
        if f.name != "pending"
    }

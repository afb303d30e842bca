"""Numbers a tenant sends: finite and bounded, ``Annotated[float, Amount(gt=0)]``.

``json.loads`` (what FastAPI parses bodies with) accepts the literals ``NaN``, ``Infinity`` and
``-Infinity``, and pydantic's ``float`` accepts them too; stored, they make the event's JSON
unreadable to PostgreSQL's ``jsonb``. Every float from outside is an ``Amount``: finite, bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from annotated_types import Ge, GroupedMetadata, Gt, Le
from pydantic.types import AllowInfNan

MAX_USD = 1_000_000.0
"""The largest sum of money a request may name (a job's budget)."""

MAX_INT4 = 2**31 - 1
"""PostgreSQL ``int``: event versions and attempt numbers never need more."""

MAX_OFFSET = 1_000_000
"""Deepest page a list may be asked for: OFFSET reads and drops every row before it."""


@dataclass(frozen=True)
class Amount(GroupedMetadata):
    """A finite float within the bounds (NaN and the infinities refused)."""

    gt: float | None = None
    ge: float | None = None
    le: float = MAX_USD

    def __iter__(self) -> Iterator[Any]:
        if self.gt is not None:
            yield Gt(self.gt)
        if self.ge is not None:
            yield Ge(self.ge)
        yield Le(self.le)
        yield AllowInfNan(False)

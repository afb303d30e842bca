"""Free text a tenant sends, checked once where it enters: ``Annotated[str, Text(max_len)]``.

PostgreSQL ``text`` and ``jsonb`` cannot hold NUL (U+0000), and UTF-8 cannot encode a lone
surrogate (U+D800..U+DFFF, which ``json.loads`` lets through from ``"\\ud800"``). A string with
either is accepted by the event store (the log is JSON in ``bytea``) and then fails every read
model that copies it into a column, forever: so it is refused at the edge, with the field named,
before anything is written. Every free-text field also has a size limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from annotated_types import GroupedMetadata, MaxLen, MinLen
from pydantic import AfterValidator, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(value: str) -> str | None:
    """Why PostgreSQL cannot store ``value`` as text, or None."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character (\\u0000), which cannot be stored"
    return f"contains a lone surrogate (\\u{ord(found.group()):04x}), which is not valid Unicode"


def _storable(value: str) -> str:
    problem = unstorable(value)
    if problem is not None:
        raise ValueError(problem)
    return value


class _Documented:
    """Says in the JSON schema (OpenAPI) that NUL is refused, so clients and fuzzers know."""

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = "^[^\\x00]*$"
        return json_schema


@dataclass(frozen=True)
class Text(GroupedMetadata):
    """``min_len`` to ``max_len`` characters that PostgreSQL can store (pydantic metadata)."""

    max_len: int
    min_len: int = 0

    def __iter__(self) -> Iterator[Any]:
        if self.min_len:
            yield MinLen(self.min_len)
        yield MaxLen(self.max_len)
        yield AfterValidator(_storable)
        yield _Documented()

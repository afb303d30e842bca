"""Free text a tenant sends, checked once where it enters: ``Annotated[str, Text(max_len)]``.

PostgreSQL ``text`` and ``jsonb`` cannot hold NUL (U+0000), and UTF-8 cannot encode a lone
surrogate (U+D800..U+DFFF, which ``json.loads`` lets through from ``"\\ud800"``). A string with
either is accepted by the event store (the log is JSON in ``bytea``) and then fails every read
model that copies it into a column, forever: so it is refused at the edge, with the field named,
before anything is written. Every free-text field also has a size limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from annotated_types import GroupedMetadata, MaxLen, MinLen
from pydantic import AfterValidator, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

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


STORABLE = "^[^\\x00]*$"
NOT_BLANK = "^[^\\x00]*[^\\s\\x00][^\\x00]*$"
"""Storable and not only whitespace (a name, say)."""


@dataclass(frozen=True)
class Matching:
    """Checks ``pattern`` (searched, as JSON Schema does) with Python's ``re`` and says it in
    the JSON schema (OpenAPI), so clients and fuzzers know exactly what is accepted. The
    pattern must refuse NUL itself (it replaces ``STORABLE``); ``hint`` says why a value fails
    (a message, or a function of the value)."""

    pattern: str
    hint: str | Callable[[str], str | None]

    def __call__(self, value: str) -> str:
        if re.search(self.pattern, value) is None:
            why = self.hint if isinstance(self.hint, str) else self.hint(value)
            raise ValueError(why or "does not match the pattern")
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = self.pattern
        return json_schema


@dataclass(frozen=True)
class Text(GroupedMetadata):
    """``min_len`` to ``max_len`` characters that PostgreSQL can store (pydantic metadata).

    ``pattern`` narrows it further (it must refuse NUL itself: it replaces ``STORABLE`` in the
    schema); ``hint`` is the message when it does not match.
    """

    max_len: int
    min_len: int = 0
    pattern: str = STORABLE
    hint: str = "does not match the pattern"

    def __iter__(self) -> Iterator[Any]:
        if self.min_len:
            yield MinLen(self.min_len)
        yield MaxLen(self.max_len)
        yield AfterValidator(_storable)
        yield Matching(self.pattern, self.hint)

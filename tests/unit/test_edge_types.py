"""The edge's reusable types, alone: storable text and finite, bounded numbers."""

from __future__ import annotations

import re
from typing import Annotated

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from bdg_contracts.numbers import Amount
from bdg_contracts.text import NOT_BLANK, STORABLE, Text, unstorable

pytestmark = pytest.mark.timeout(60)


class Sample(BaseModel):
    text: Annotated[str, Text(8, min_len=1)] = "x"
    name: Annotated[str, Text(8, pattern=NOT_BLANK, hint="blank")] = "x"
    usd: Annotated[float, Amount(gt=0, le=100)] = 1.0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"text": "a\x00b"}, "NUL"),
        ({"text": "a\ud800"}, "string"),  # pydantic refuses a lone surrogate itself
        ({"text": ""}, "at least 1"),
        ({"text": "123456789"}, "at most 8"),
        ({"name": " \t"}, "blank"),
        ({"usd": float("inf")}, "finite"),
        ({"usd": float("-inf")}, "finite"),
        ({"usd": float("nan")}, "finite"),
        ({"usd": 0}, "greater than 0"),
        ({"usd": 101}, "less than or equal to 100"),
    ],
)
def test_what_the_edge_refuses(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Sample.model_validate(fields)


def test_the_schema_states_the_rules() -> None:
    properties = Sample.model_json_schema()["properties"]
    assert properties["text"] == {
        "default": "x", "maxLength": 8, "minLength": 1, "pattern": STORABLE,
        "title": "Text", "type": "string",
    }  # fmt: skip
    assert properties["name"]["pattern"] == NOT_BLANK
    assert (properties["usd"]["exclusiveMinimum"], properties["usd"]["maximum"]) == (0, 100)


@given(st.text())
def test_unstorable_is_exactly_nul_or_a_surrogate(value: str) -> None:
    bad = any(c == "\x00" or 0xD800 <= ord(c) <= 0xDFFF for c in value)
    assert (unstorable(value) is not None) == bad
    assert (re.search(STORABLE, value) is None) == ("\x00" in value)

"""The edge's reusable types, alone: storable text, finite numbers, the clone URL pattern."""

from __future__ import annotations

import re
from typing import Annotated

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from bdg_contracts.numbers import Amount
from bdg_contracts.text import NOT_BLANK, STORABLE, Text, unstorable
from bdg_gateway.index_routes import CLONE_URL, clone_url_problem

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


URLS = st.one_of(
    st.text(),
    st.builds(
        lambda scheme, rest: scheme + rest,
        st.sampled_from(["https://", "HTTP://", "ssh://", "git://", "git+ssh://", "file://", ""]),
        st.text(alphabet="ab:@/ .\t\x00-_", max_size=12),
    ),
    st.builds(
        lambda user, rest: user + "@" + rest, st.text("ab._-", max_size=3), st.text("ab.:/ ")
    ),
)


@settings(max_examples=2000)
@given(URLS)
def test_the_clone_url_pattern_accepts_what_the_rules_accept(url: str) -> None:
    # The OpenAPI document publishes the pattern; the messages come from the rules: they agree.
    accepted = clone_url_problem(url) is None and "\x00" not in url
    assert (re.search(CLONE_URL, url) is not None) == accepted

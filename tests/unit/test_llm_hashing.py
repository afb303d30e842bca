"""The replay key is stable: same request, same hash, in any process; any change, a new hash."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bdg_llm.api import ChatRequest, Message
from bdg_llm.hashing import canonical_json, request_hash, stable_text

pytestmark = pytest.mark.timeout(30)

REQUEST = ChatRequest(
    "planner",
    (Message("system", "You plan."), Message("user", "Plan a CLI. ünïcode ✓")),
    schema={"type": "object", "properties": {}, "required": [], "additionalProperties": False},
    max_tokens=200,
    extra={"seed": 7, "top_p": 0.5},
)
# Pinned: a change of this form invalidates every recorded job's replay; make it on purpose only.
CANONICAL = (
    '{"extra":{"seed":7,"top_p":0.5},"max_tokens":200,"messages":[{"content":"You plan.",'
    '"role":"system"},{"content":"Plan a CLI. ünïcode ✓","role":"user"}],"model":"gpt-4o-mini",'
    '"schema":{"name":"answer","schema":{"additionalProperties":false,"properties":{},'
    '"required":[],"type":"object"},"strict":true},"temperature":0.0}'
)


def test_the_same_request_hashes_the_same_in_another_process() -> None:
    code = (
        "from tests.unit.test_llm_hashing import REQUEST; "
        "from bdg_llm.hashing import request_hash; print(request_hash('gpt-4o-mini', REQUEST))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123", "PATH": ""},
        cwd=Path(__file__).parents[2],
    )
    assert other.stdout.strip() == request_hash("gpt-4o-mini", REQUEST)


def test_the_hash_is_sha256_of_the_pinned_canonical_form() -> None:
    expected = hashlib.sha256(CANONICAL.encode()).hexdigest()
    assert request_hash("gpt-4o-mini", REQUEST) == expected


def test_key_order_and_int_temperature_do_not_matter() -> None:
    reordered = replace(REQUEST, extra={"top_p": 0.5, "seed": 7}, temperature=0)
    assert request_hash("m", reordered) == request_hash("m", REQUEST)


@pytest.mark.parametrize(
    "changed",
    [
        replace(REQUEST, messages=REQUEST.messages[:1]),
        replace(REQUEST, messages=(Message("user", "You plan."), *REQUEST.messages[1:])),
        replace(REQUEST, schema=None),
        replace(REQUEST, schema_name="other"),
        replace(REQUEST, strict=False),
        replace(REQUEST, temperature=0.2),
        replace(REQUEST, max_tokens=None),
        replace(REQUEST, extra={"seed": 8, "top_p": 0.5}),
    ],
)
def test_any_change_gives_another_hash(changed: ChatRequest) -> None:
    assert request_hash("m", changed) != request_hash("m", REQUEST)


def test_the_model_is_part_of_the_key() -> None:
    assert request_hash("gpt-4o", REQUEST) != request_hash("gpt-4o-mini", REQUEST)


def test_the_role_is_not_part_of_the_key() -> None:
    # The model stands for the role: two roles on one model asking the same get the same answer.
    assert request_hash("m", replace(REQUEST, role="critic")) == request_hash("m", REQUEST)


def test_canonical_json_is_compact_sorted_and_refuses_nan() -> None:
    assert canonical_json({"b": 1, "a": [1.0, "é"]}) == '{"a":[1.0,"é"],"b":1}'
    with pytest.raises(ValueError, match="not JSON compliant"):
        canonical_json({"x": float("nan")})


def _quoting(output: str) -> ChatRequest:
    return replace(REQUEST, messages=(*REQUEST.messages, Message("user", output)))


@pytest.mark.parametrize(
    ("first", "again"),
    [
        ("==== 1 failed, 2 passed in 0.03s ====", "==== 1 failed, 2 passed in 1.27s ===="),
        ("Duration  812ms (transform 20ms)", "Duration  1.4 s (transform 31ms)"),
        ("Start at  01:23:45", "Start at  13:02:09.512"),
        ("<Foo object at 0x7f3a2c1b9e50>", "<Foo object at 0x7f91d00a1c10>"),
        ("\u2139 duration_ms 113.737939", "\u2139 duration_ms 98.1"),  # node --test spec
        ('<testcase name="a" time="0.002937"/>', '<testcase name="a" time="0.1"/>'),
    ],
)
def test_run_noise_in_quoted_output_does_not_change_the_key(first: str, again: str) -> None:
    assert request_hash("m", _quoting(first)) == request_hash("m", _quoting(again))


@pytest.mark.parametrize(
    ("first", "other"),
    [
        ("1 failed, 2 passed", "2 failed, 1 passed"),
        ("assert add(2, 3) == 5", "assert add(2, 3) == 6"),
        ("retries: 3", "retries: 4"),
    ],
)
def test_what_the_output_says_still_changes_the_key(first: str, other: str) -> None:
    assert request_hash("m", _quoting(first)) != request_hash("m", _quoting(other))


def test_stable_text_keeps_words_that_only_look_like_units() -> None:
    assert stable_text("class Tests: 3 cases; msgs 5") == "class Tests: 3 cases; msgs 5"

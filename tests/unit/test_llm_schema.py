"""Strict schemas from pydantic models, and validation of structured answers."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field

from bdg_llm.api import ChatRequest, ChatResult, LlmAnswerError, Message
from bdg_llm.schema import SchemaError, strict_schema, structured_request, validate_answer
from tests.fakes.openai_server import check_request

pytestmark = pytest.mark.timeout(10)


class Risk(BaseModel):
    text: str = Field(description="what could go wrong")
    severity: Literal["low", "high"] = "low"


class Shell(BaseModel):
    kind: Literal["shell"]
    command: str


class Python(BaseModel):
    kind: Literal["python"]
    code: str


class Critique(BaseModel):
    score: int = Field(ge=1, le=10)
    risks: list[Risk] = []
    main_risk: Risk | None = None
    step: Annotated[Shell | Python, Field(discriminator="kind")]


def _objects(node: object) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    if isinstance(node, dict):
        if node.get("type") == "object":
            found.append(node)
        for value in node.values():
            found += _objects(value)
    elif isinstance(node, list):
        for item in node:
            found += _objects(item)
    return found


def test_every_object_is_closed_and_requires_all_its_properties() -> None:
    schema = strict_schema(Critique)
    objects = _objects(schema)
    assert len(objects) == 5  # Critique, Risk in the list, the optional Risk, Shell, Python
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert obj["required"] == list(obj["properties"])  # type: ignore[call-overload]
    assert schema["required"] == ["score", "risks", "main_risk", "step"]


def test_refs_are_inlined_and_openai_only_keywords_remain() -> None:
    text = repr(strict_schema(Critique))
    for gone in ("$ref", "$defs", "'title'", "'default'", "oneOf", "discriminator", "'const'"):
        assert gone not in text
    step = strict_schema(Critique)["properties"]["step"]
    assert [v["properties"]["kind"]["enum"] for v in step["anyOf"]] == [["shell"], ["python"]]
    assert strict_schema(Risk)["properties"]["text"]["description"] == "what could go wrong"


def test_the_schema_passes_the_endpoints_strict_checks() -> None:
    request = structured_request(ChatRequest("critic", (Message("user", "rate"),)), Critique)
    check_request(
        {
            "model": "m",
            "messages": [{"role": "user", "content": "rate"}],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "critique", "schema": request.schema, "strict": True},
            },
        }
    )


def test_a_request_keeps_its_own_schema() -> None:
    own = {"type": "object", "properties": {}, "required": [], "additionalProperties": False}
    request = ChatRequest("critic", (Message("user", "x"),), schema=own)
    assert structured_request(request, Critique) is request


def test_free_form_mappings_and_recursion_cannot_be_strict() -> None:
    class Env(BaseModel):
        env: dict[str, str]

    class Node(BaseModel):
        children: list[Node]

    with pytest.raises(SchemaError, match=r"Env\.env: a free-form mapping"):
        strict_schema(Env)
    with pytest.raises(SchemaError, match="recursive model Node"):
        strict_schema(Node)


def _result(content: str) -> ChatResult:
    return ChatResult(content, "m", "h", 3, 4, 0.0)


def test_validate_answer_accepts_a_fitting_answer() -> None:
    answer = validate_answer(
        _result('{"score": 8, "step": {"kind": "shell", "command": "ls"}}'), Critique
    )
    assert answer.score == 8
    assert answer.step == Shell(kind="shell", command="ls")


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("Sure! Here is the JSON:", "the answer is not JSON"),
        ('{"score": 0, "step": {"kind": "shell", "command": "ls"}}', "score: Input should be"),
        ('{"score": 5}', "step: required field missing"),
        ('{"score": 5, "step": {"kind": "ruby", "code": ""}}', "step: Input tag 'ruby'"),
        ("[1, 2]", "does not fit Critique"),
        ("[" * 100_000, "nests too deeply"),
    ],
)
def test_validate_answer_says_what_is_wrong_and_keeps_the_call(content: str, says: str) -> None:
    result = _result(content)
    with pytest.raises(LlmAnswerError, match=says) as err:
        validate_answer(result, Critique)
    assert err.value.result is result

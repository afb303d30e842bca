"""The whole-symbol format on answers the offline 0.5B model really gave (captured with
``bench.pipeline_eval --format symbol --capture``; data/rewrite_answers/ holds each task's goal,
the files as shown and every call's prompt and answer in order). Each answer is checked as the
pipeline checks it, against the definition the goal is about."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bdg_coder.pipeline.rewrite import Target, check_rewrite, code_in, definition, targets

ANSWERS = Path(__file__).parent / "data" / "rewrite_answers"


def captured(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ANSWERS / f"{name}.json").read_text(encoding="utf-8"))
    return data


def checked(name: str, call: int, target: Target) -> tuple[str, str]:
    fx = captured(name)
    code = code_in(fx["calls"][call]["answer"])
    assert code is not None
    return check_rewrite(fx["files"][target.path], target, code)


def first_target(name: str) -> Target:
    fx = captured(name)
    return targets(fx["goal"], "", fx["files"])[0]


def test_the_captured_answers_are_the_models_own() -> None:
    names = sorted(p.stem for p in ANSWERS.glob("*.json"))
    assert len(names) == 4
    for name in names:
        fx = captured(name)
        assert fx["model"].startswith("qwen2.5-coder-0.5b-instruct")
        assert fx["files"]
        assert fx["calls"]
        assert fx["goal"]


def test_a_changed_definition_lands_and_the_rest_of_the_file_stays() -> None:
    # py-word-count-ignore-case: the hidden tests passed on this answer
    target = first_target("py-word-count-ignore-case")
    assert (target.path, target.symbol) == ("textstats/counts.py", "word_counts")
    after, error = checked("py-word-count-ignore-case", 0, target)
    assert error == ""
    new = definition(target.path, after, "word_counts")
    assert new.startswith("def word_counts(text: str, ignore_case: bool = False)")
    before = captured("py-word-count-ignore-case")["files"][target.path]
    for kept in ("words", "most_common"):
        assert definition(target.path, after, kept) == definition(target.path, before, kept)


def test_the_file_sent_back_unchanged_is_refused_as_the_old_definition() -> None:
    target = first_target("js-capitalize-empty")
    assert target.symbol == "capitalize"
    after, error = checked("js-capitalize-empty", 0, target)
    assert after == ""
    assert error == (
        "the code you sent is capitalize exactly as it is now; send it changed as the goal asks."
    )


def test_from_a_whole_file_only_the_asked_definition_is_taken() -> None:
    # js-sum-validate: the answer is the whole file with sum and mean both changed; the call
    # is about sum, so mean stays as it was (its own call follows)
    target = first_target("js-sum-validate")
    assert target.symbol == "sum"
    after, error = checked("js-sum-validate", 0, target)
    assert error == ""
    before = captured("js-sum-validate")["files"][target.path]
    assert 'throw new TypeError("sum() expects an array of numbers")' in (
        definition(target.path, after, "sum")
    )
    assert definition(target.path, after, "mean") == definition(target.path, before, "mean")


def test_a_method_is_taken_out_of_the_whole_class_sent_back() -> None:
    target = first_target("py-lru-eviction")
    assert target.symbol == "LRU.get"
    after, error = checked("py-lru-eviction", 0, target)
    assert error == ""
    assert "self.items.move_to_end(key)" in definition(target.path, after, "LRU.get")
    before = captured("py-lru-eviction")["files"][target.path]
    assert definition(target.path, after, "LRU.put") == definition(target.path, before, "LRU.put")

"""The pipeline's edits on answers the offline 0.5B model really gave (captured from
``bench.agent_bench --strategy pipeline`` on dev tasks; data/pipeline_answers/ holds each
attempt's localized files, as the model was shown them, and its answers in order). Each edit is
checked against the files as the pipeline checks it: those a rule of edit_match makes land say
how, those that must still be refused say exactly what failed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bdg_coder.pipeline.edits import Checked, Repair, check_edits, parse_repair, report

ANSWERS = Path(__file__).parent / "data" / "pipeline_answers"


def captured(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ANSWERS / f"{name}.json").read_text(encoding="utf-8"))
    return data


def checked(name: str, answer: int) -> list[Checked]:
    fx = captured(name)
    repair = parse_repair(fx["answers"][answer])
    assert isinstance(repair, Repair)
    return check_edits(fx["files"], repair.edits)


def test_the_captured_answers_are_the_models_own() -> None:
    names = sorted(p.stem for p in ANSWERS.glob("*.json"))
    assert names
    for name in names:
        fx = captured(name)
        assert fx["model"].startswith("qwen2.5-coder-0.5b-instruct")
        assert fx["files"]
        assert fx["answers"]


def test_a_parameter_named_as_the_symbol_and_goal_words_as_search_are_refused() -> None:
    # py-word-count-ignore-case: symbol "ignore_case", search "default False" (the goal's
    # words), replace "True", the same edit on three files: nothing to find, whatever the rule.
    first = checked("py-word-count-ignore-case-attempt1", 0)
    assert [c.tool for c in first] == [None, None, None]
    said = report(first).splitlines()
    assert said[0] == (
        "- edit 1 (textstats/counts.py ignore_case): FAILED: no function or class named "
        "'ignore_case' in textstats/counts.py; it defines: words, word_counts, most_common. And "
        "the search text does not occur in textstats/counts.py: 'default False'. No lines of "
        "textstats/counts.py come close to it: search text is lines of the file itself. Copy the "
        "lines exactly as the file shows them. Nothing was changed."
    )
    # the pipeline's model has no edit_file: it is told of its own kind of edit
    assert said[2].startswith("- edit 3 (textstats/__init__.py ignore_case): FAILED: ")
    assert "edit_file" not in report(first)
    assert (
        "defines no functions or classes; change it with a search/replace edit (symbol "
        in (said[2])
    )


def test_a_repeated_answer_with_one_word_as_search_is_refused() -> None:
    # attempt 2's repair turn: search "False", which counts.py does not have
    (edit,) = checked("py-word-count-ignore-case-attempt2", 1)
    assert edit.tool is None
    assert "the search text does not occur in textstats/counts.py: 'False'" in edit.error


def test_a_symbol_replaced_by_a_fragment_is_refused_the_same_in_the_repair_turn() -> None:
    # py-sortlines-reverse: symbol "sort_lines", search "def=0", replace "def=1", in both
    # files; the repair turn repeated the answer word for word.
    fx = captured("py-sortlines-reverse-attempt1")
    assert fx["answers"][0] == fx["answers"][1]
    first, second = checked("py-sortlines-reverse-attempt1", 0)
    assert first.error.startswith("the new code does not parse (line 1: invalid syntax); send ")
    assert "the whole definition of sort_lines" in first.error
    assert second.error.startswith(
        "no function or class named 'sort_lines' in tests/test_sortlines.py; it defines: "
        "test_text_order, test_numeric_order. And the search text does not occur in "
        "tests/test_sortlines.py: 'def=0'."
    )


def test_a_method_name_as_symbol_and_the_goals_words_as_search_are_refused() -> None:
    # attempt 2: symbol "add" with search "--reverse", then symbol "replace" with the goal's
    # own sentence as search; neither names anything of sortlines.py
    for answer, symbol, search in ((0, "add", "--reverse"), (1, "replace", "sort_lines() gets")):
        (edit,) = checked("py-sortlines-reverse-attempt2", answer)
        assert edit.tool is None
        assert edit.error.startswith(
            f"no function or class named {symbol!r} in sortlines.py; it defines: sort_lines, "
            f"main. And the search text does not occur in sortlines.py: '{search}"
        )


def test_an_edit_that_writes_what_is_there_is_refused() -> None:
    # js-clamp-fix: symbol "test" (no such function), search == replace, a line of the test
    # file; through the symbol's fallback to the search it landed and changed nothing
    (edit,) = checked("js-clamp-fix-attempt2", 0)
    assert edit.tool is None
    assert edit.error.startswith("this edit changes nothing in test/clamp.test.js")

"""A parameter the goal lets callers leave out that the new definition needs anyway."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from bdg_coder.pipeline.optional_parameters import optional_in_goal, unhandled_optional
from bench.agent_tasks.tasks import load_tasks, make_repo
from tests.unit.solution_definitions import written

GOAL = (
    'Add and export pluralize(count, singular, plural) in src/words.js: it returns "1 apple" '
    'for a count of 1 and "0 apples" or "2 apples" otherwise, using plural when given and '
    'singular + "s" when not (pluralize(2, "child", "children") is "2 children").'
)
# The 1.5B's chosen candidate on js-pluralize (agent bench, dev half, session 22): called
# without `plural` it says "2 undefined"; the job reached the deploy approval with it.
RECORDED = """export function pluralize(count, singular, plural) {
  if (count === 1) {
    return `${count} ${singular}`;
  } else {
    return `${count} ${plural}`;
  }
}"""


def test_the_recorded_answer_that_needs_plural_is_caught() -> None:
    assert unhandled_optional(GOAL, ".js", RECORDED) == ["plural"]


@pytest.mark.parametrize(
    "code",
    [
        "export function pluralize(count, singular, plural = `${singular}s`) {\n"
        "  return `${count} ${count === 1 ? singular : plural}`;\n}",
        "export function pluralize(count, singular, plural) {\n"
        "  const word = plural ?? `${singular}s`;\n  return `${count} ${word}`;\n}",
        "export const pluralize = (count, singular, plural) =>\n"
        "  `${count} ${count === 1 ? singular : plural || singular + 's'}`;",
        "function pluralize(count, singular, plural) {\n"
        "  if (plural === undefined) plural = singular + 's';\n  return `${count} ${plural}`;\n}",
        "function pluralize(count, singular, plural) {\n"
        "  plural ??= singular + 's';\n  return `${count} ${plural}`;\n}",
        "function pluralize(count, singular, plural) {\n"
        "  const word = typeof plural === 'string' ? plural : singular + 's';\n"
        "  return `${count} ${word}`;\n}",
        "function pluralize(count, singular, plural) {\n"
        "  return plural ? `${count} ${plural}` : `${count} ${singular}s`;\n}",
    ],
)
def test_javascript_that_copes_without_it(code: str) -> None:
    assert unhandled_optional(GOAL, ".js", code) == []


def test_typescript_an_optional_mark_alone_does_not_cope_a_default_does() -> None:
    head = "export function pluralize(count: number, singular: string, "
    body = "): string {\n  return `${count} ${plural}`;\n}"
    assert unhandled_optional(GOAL, ".ts", head + "plural?: string" + body) == ["plural"]
    assert unhandled_optional(GOAL, ".ts", head + "plural: string = singular + 's'" + body) == []


@pytest.mark.parametrize(
    ("code", "found"),
    [
        ("def pluralize(count, singular, plural):\n    return f'{count} {plural}'", ["plural"]),
        ("def pluralize(count, singular, plural=None):\n    return f'{count} {plural}'", []),
        ("def pluralize(count, singular, *, plural=''):\n    return f'{count} {plural}'", []),
        (
            "def pluralize(count, singular, plural):\n"
            "    if plural is None:\n        plural = singular + 's'\n"
            "    return f'{count} {plural}'",
            [],
        ),
        (
            "def pluralize(count, singular, plural):\n"
            "    return f'{count} {plural or singular + chr(115)}'",
            [],
        ),
        ("def pluralize(count, singular, plural):\n  return (", []),  # does not parse
        ("def a(plural):\n    return plural\n\ndef b(plural):\n    return plural", []),
    ],
)
def test_python(code: str, found: list[str]) -> None:
    assert unhandled_optional(GOAL, ".py", code) == found


@pytest.mark.parametrize(
    ("goal", "found"),
    [
        ("Split text on sep; if sep is omitted, split on whitespace.", ["sep"]),
        ("Take an optional `limit` on the number of parts.", ["limit"]),
        ("limit is optional.", ["limit"]),
        ("maxsplit defaults to -1.", ["maxsplit"]),
        ("It works without a sep too.", ["sep"]),
        ("Use sep when provided, else a comma.", ["sep"]),
        ("When limit is not given, return every part.", ["limit"]),
        # not optional: a type, a value set to something, a name in another case, another word
        ("text when given as bytes raises TypeError.", []),
        ("Read PORT when set; an empty one is an error.", []),
        ("Use the separator when given.", []),
        ("Split text on sep (a string).", []),
    ],
)
def test_what_the_goal_says_may_be_left_out(goal: str, found: list[str]) -> None:
    assert optional_in_goal(goal, ["text", "sep", "limit", "maxsplit", "port"]) == found


def _definitions(repo: Path, patch: Path) -> list[tuple[str, str]]:
    """(path, definition after) of each function ``patch`` changes or adds in ``repo``."""
    return [(path, new) for path, _, new in written(repo, patch)]


def test_no_reference_fix_of_the_agent_bench_trips_it(tmp_path: Path) -> None:
    checked, found = 0, []
    for task in load_tasks():
        make_repo(task, tmp_path / task.id)
        for path, new in _definitions(tmp_path / task.id, task.root / "solution.patch"):
            checked += 1
            suffix = PurePosixPath(path).suffix
            found += [(task.id, path, name) for name in unhandled_optional(task.goal, suffix, new)]
    assert found == []
    assert checked >= 30  # new definitions (pluralize, chunk, ...) as well as changed ones

"""A parameter a rewrite adds that some results of the definition never see."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from bdg_coder.pipeline.ignored_parameters import Ignored, ignored_parameters
from bdg_coder.pipeline.ignored_parameters_js import js_ignored_parameters
from bdg_tools.symbols.lookup import language_of
from bench.agent_tasks.tasks import load_tasks, make_repo
from tests.unit.solution_definitions import written

REVIEW_CASES = Path(__file__).resolve().parents[2] / "bench" / "review_cases"

OLD = '''def sort_lines(lines: list[str], *, numeric: bool = False) -> list[str]:
    """The lines in ascending order, compared as numbers with ``numeric``."""
    return sorted(lines, key=float) if numeric else sorted(lines)
'''
HEAD = "def sort_lines(lines, *, numeric=False, reverse=False):\n"


def test_a_branch_of_a_conditional_result_that_ignores_the_new_parameter() -> None:
    # The 1.5B's answer on py-sortlines-reverse (agent bench, dev half).
    new = HEAD + "  return sorted(lines, key=float) if numeric else sorted(lines, reverse=reverse)"
    assert ignored_parameters(OLD, new) == [
        Ignored("reverse", "sorted(lines, key=float)", "numeric")
    ]


def test_a_return_under_a_condition_that_ignores_it() -> None:
    new = (
        HEAD + "    if not numeric:\n        return sorted(lines, reverse=reverse)\n"
        "    return sorted(lines, key=float)\n"
    )
    assert ignored_parameters(OLD, new) == [Ignored("reverse", "sorted(lines, key=float)", "")]
    new = HEAD + "  if numeric and lines:\n    return sorted(lines, key=float)\n  return [0]"
    assert ignored_parameters(OLD, new) == [Ignored("reverse")]  # never read at all


def test_the_else_branch_is_named_by_its_negated_condition() -> None:
    new = HEAD + "  return sorted(lines, key=float, reverse=reverse) if numeric else sorted(lines)"
    assert ignored_parameters(OLD, new) == [Ignored("reverse", "sorted(lines)", "not numeric")]
    new = HEAD + "  return sorted(lines, reverse=reverse) if numeric > 1 else sorted(lines)"
    negated = Ignored("reverse", "sorted(lines)", "not (numeric > 1)")
    assert ignored_parameters(OLD, new) == [negated]


@pytest.mark.parametrize(
    "body",
    [
        # both branches use it
        "    return sorted(lines, key=float, reverse=reverse) if numeric "
        "else sorted(lines, reverse=reverse)\n",
        # a name computed from it
        "    rev = not not reverse\n    return sorted(lines, key=float if numeric else None, "
        "reverse=rev)\n",
        # chosen by it: a condition reads it
        "    out = sorted(lines, key=float) if numeric else sorted(lines)\n"
        "    return out[::-1] if reverse else out\n",
        # a list filled in a loop over a value that reads it; an early exit of a literal
        "    if not lines:\n        return []\n    out = []\n"
        "    for line in sorted(lines, reverse=reverse):\n        out.append(line)\n"
        "    return out\n",
        # read in a closure's condition
        "    return sorted(lines, key=lambda s: -float(s) if reverse else s)\n",
        # read in a condition that refuses: its effect may be to raise
        "    if reverse and numeric:\n        raise ValueError('no')\n    return sorted(lines)\n",
    ],
)
def test_a_parameter_every_result_depends_on_or_that_a_condition_reads(body: str) -> None:
    assert ignored_parameters(OLD, HEAD + body) == []


def test_only_added_parameters_of_one_parsed_function_count() -> None:
    same = "def sort_lines(lines, *, numeric=False):\n    return sorted(lines)\n"
    assert ignored_parameters(OLD, same) == []  # numeric was there: not this check's business
    assert ignored_parameters("", HEAD + "    return lines\n") == []  # a new definition
    assert ignored_parameters(OLD, HEAD + "    return (\n") == []  # does not parse
    two = HEAD + "    return lines\n\n\ndef other():\n    pass\n"
    assert ignored_parameters(OLD, two) == []


def test_a_method_and_its_self() -> None:
    old = "    def total(self, lines):\n        return sum(lines)\n"
    new = "    def total(self, lines, percent=0):\n        return sum(lines)\n"
    assert ignored_parameters(old, new) == [Ignored("percent")]


JS_OLD = (
    "export function sortLines(lines, { numeric = false } = {}) {\n"
    "  return numeric ? [...lines].sort(byNumber) : [...lines].sort();\n}\n"
)
JS_HEAD = "export function sortLines(lines, { numeric = false, reverse = false } = {}) {\n"


@pytest.mark.parametrize(
    ("body", "found"),
    [
        ("  return numeric ? [...lines].sort(byNumber) : [...lines].sort(by(reverse));\n}\n",
         [Ignored("reverse", "[...lines].sort(byNumber)", "numeric")]),
        ("  if (numeric) return [...lines].sort(by(reverse));\n"
         "  else return [...lines].sort();\n}\n",
         [Ignored("reverse", "[...lines].sort()", "!numeric")]),
        ("  if (numeric && lines.length) {\n    return [...lines].sort(by(reverse));\n  }\n"
         "  return [...lines].sort();\n}\n",
         [Ignored("reverse", "[...lines].sort()", "")]),
        ("  return [...lines].sort();\n}\n", [Ignored("reverse")]),
        # a name filled in a loop over it; an early exit of a literal
        ("  if (!lines.length) return [];\n  const out = [];\n"
         "  for (const l of [...lines].sort(by(reverse))) out.push(l);\n  return out;\n}\n", []),
        # chosen by it
        ("  const out = numeric ? [...lines].sort(byNumber) : [...lines].sort();\n"
         "  return reverse ? out.reverse() : out;\n}\n", []),
    ],
)  # fmt: skip
def test_javascript_results_that_miss_a_new_parameter(body: str, found: list[Ignored]) -> None:
    assert js_ignored_parameters(".js", JS_OLD, JS_HEAD + body) == found


def test_javascript_arrow_functions_methods_and_typescript() -> None:
    arrow = (
        "const sortLines = (lines, { numeric = false, reverse = false } = {}) =>\n"
        "  numeric ? [...lines].sort(byNumber) : [...lines].sort(by(reverse));\n"
    )
    assert js_ignored_parameters(".js", JS_OLD, arrow) == [
        Ignored("reverse", "[...lines].sort(byNumber)", "numeric")
    ]
    method = "  total(lines) {\n    return sum(lines);\n  }\n"
    percent = "  total(lines, percent = 0) {\n    return sum(lines);\n  }\n"
    assert js_ignored_parameters(".js", method, percent) == [Ignored("percent")]
    typed = "function f(a: number, b?: number): number {\n  return a > 0 ? a : a + (b ?? 0);\n}\n"
    assert js_ignored_parameters(".ts", "function f(a: number): number { return a; }", typed) == [
        Ignored("b", "a", "a > 0")
    ]
    assert js_ignored_parameters(".js", JS_OLD, JS_HEAD + "  return (\n}\n") == []
    assert js_ignored_parameters(".py", JS_OLD, JS_HEAD + "  return [];\n}\n") == []


def _changed_definitions(repo: Path, patch: Path) -> list[tuple[str, str, str]]:
    """(path, definition before, after) of each function ``patch`` changes in ``repo``."""
    return [(path, old, new) for path, old, new in written(repo, patch) if old]


def _ignored(path: str, old: str, new: str) -> list[Ignored]:
    if language_of(path) == "python":
        return ignored_parameters(old, new)
    return js_ignored_parameters(PurePosixPath(path).suffix, old, new)


def test_no_reference_fix_of_the_agent_bench_trips_it(tmp_path: Path) -> None:
    checked, found = 0, []
    for task in load_tasks():
        repo = tmp_path / task.id
        make_repo(task, repo)
        for path, old, new in _changed_definitions(repo, task.root / "solution.patch"):
            checked += 1
            found += [(task.id, path, ignored) for ignored in _ignored(path, old, new)]
    assert found == []
    assert checked >= 20  # the fixes that change an existing definition, not add one


def test_the_review_case_that_ignores_reverse_with_numeric_trips_it(tmp_path: Path) -> None:
    # bench/review_cases: the wrong change a reviewer should reject, `--reverse` ignored with
    # `--numeric`; a parameter's effect is not visible to this check in the other cases.
    (task,) = (t for t in load_tasks() if t.id == "py-sortlines-reverse")
    make_repo(task, tmp_path / "repo")
    patch = REVIEW_CASES / "py-sortlines-reverse.patch"
    found = [_ignored(*c) for c in _changed_definitions(tmp_path / "repo", patch)]
    assert [f for f in found if f] == [[Ignored("reverse", "sorted(lines, key=float)", "numeric")]]

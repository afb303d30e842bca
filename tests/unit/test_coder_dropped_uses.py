"""What a rewritten definition lost: short literals and calls of the old one the new one
lacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from bdg_coder.pipeline.dropped_uses import dropped_uses
from bench.agent_tasks.tasks import load_tasks, make_repo
from tests.unit.solution_definitions import written

OLD_PY = '''def load():
    """Read "HOST" from the environment."""
    return {"host": os.environ.get("HOST", "127.0.0.1").strip(), "mode": "a b"}
'''
NEW_PY = 'def load():\n    return {"host": "127.0.0.1", "port": 8000}\n'


def test_a_python_definition_that_lost_keys_and_calls() -> None:
    # The docstring's "HOST" counts for nothing; the message "a b" is prose, free to change.
    got = dropped_uses("config.py", OLD_PY, NEW_PY, "Add a port entry")
    assert got == ["HOST", "mode", "strip", "get"]


def test_what_the_goal_names_may_go() -> None:
    assert dropped_uses("config.py", OLD_PY, NEW_PY, "Drop HOST, `mode`, get() and strip.") == []


def test_what_the_run_wrote_elsewhere_counts_as_kept() -> None:
    moved = 'def host():\n    return os.environ.get("HOST", "x").strip()\n'
    new = 'def load():\n    return {"host": host(), "mode": 1}\n'
    assert dropped_uses("config.py", OLD_PY, new, "", [moved]) == []
    assert dropped_uses("config.py", OLD_PY, new, "") == ["HOST", "strip", "get"]


def test_a_name_inside_a_longer_one_is_not_kept() -> None:
    new = 'def load():\n    return {"HOSTNAME": os.getenv("x").strip(), "mode": 1}\n'
    assert dropped_uses("config.py", OLD_PY, new, "") == ["host", "HOST", "get"]


@pytest.mark.parametrize(
    ("old", "new", "dropped"),
    [
        ('export function slugify(t) {\n  return t.toLowerCase().trim().replace(/\\s+/g, "-");\n}',
         "export function slugify(t) {\n  return t.toLowerCase().replace(/ /g, '-');\n}",
         ["trim"]),
        ("function f(o) { return o['id'] + `x-${o.n}`; }", "function f(o) { return o.n; }",
         ["id", "x-"]),  # a template's fixed part is a format
        ("function tagUrl(n) { return `/tags/${slug(n)}`; }",
         "function tagUrl(n) { return slugify(n); }",
         ["/tags/", "slug"]),
        ("function tagUrl(n) { return `/tags/${slug(n)}`; }",
         "function tagUrl(n) { return `/tags/${slugify(n)}`; }",
         ["slug"]),  # the call inside the template is seen
        ('function f(o) { if (o) { return o["id"] ?? "not (yet)"; } }',
         "function f(o) { return o.id; }",
         []),  # o.id keeps it; "not (yet)" is prose, and calls nothing; `if (` is no call
        ('function f(s) { return s.split(","); }', "function f(s) { return s.split(';'); }",
         []),  # "," is not a key
    ],
)  # fmt: skip
def test_a_javascript_definition(old: str, new: str, dropped: list[str]) -> None:
    assert dropped_uses("src/f.js", old, new, "") == dropped


def test_a_refactor_that_lost_its_path_prefix() -> None:
    """py-refactor-slugify, session 24: the slug code moved into slugify() (written
    elsewhere, so its calls count as kept), but "/tags/" went with it."""
    old = 'def tag_url(name: str) -> str:\n    slug = "-".join(re.findall(r"[a-z0-9]+", name.lower()))\n    return f"/tags/{slug}"\n'  # noqa: E501
    moved = 'def slugify(text: str) -> str:\n    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))\n'  # noqa: E501
    lost = "def tag_url(name: str) -> str:\n    return slugify(name)\n"
    kept = 'def tag_url(name: str) -> str:\n    return f"/tags/{slugify(name)}"\n'
    goal = "Move it into one function slugify(text) in a new module text.py"
    assert dropped_uses("tags.py", old, lost, goal, [moved]) == ["/tags/"]
    assert dropped_uses("tags.py", old, kept, goal, [moved]) == []


def test_code_that_does_not_parse_or_another_language_gives_none() -> None:
    assert dropped_uses("config.py", "def load(:\n 'HOST'", "", "") == []
    assert dropped_uses("main.go", 'x := m["id"]; f(x)', "", "") == []


def test_no_reference_fix_of_the_agent_bench_trips_it(tmp_path: Path) -> None:
    """Every task's solution.patch, each changed definition against what it was, the other
    definitions the patch writes counting as written elsewhere (as the run's do)."""
    checked, found = 0, []
    for task in load_tasks():
        make_repo(task, tmp_path / task.id)
        changes = written(tmp_path / task.id, task.root / "solution.patch")
        for path, old, new in changes:
            if not old:
                continue
            checked += 1
            elsewhere = [text for _, _, text in changes if text != new]
            lost = dropped_uses(path, old, new, task.goal, elsewhere)
            found += [(task.id, path, name) for name in lost]
    assert found == []
    assert checked >= 20

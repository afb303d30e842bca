"""What a rewritten definition lost: short literals and calls of the old one the new one
lacks."""

from __future__ import annotations

import pytest

from bdg_coder.pipeline.dropped_uses import dropped_uses

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
         ["id"]),
        ('function f(o) { if (o) { return o["id"] ?? "not (yet)"; } }',
         "function f(o) { return o.id; }",
         []),  # o.id keeps it; "not (yet)" is prose, and calls nothing; `if (` is no call
        ('function f(s) { return s.split(","); }', "function f(s) { return s.split(';'); }",
         []),  # "," is not a key
    ],
)  # fmt: skip
def test_a_javascript_definition(old: str, new: str, dropped: list[str]) -> None:
    assert dropped_uses("src/f.js", old, new, "") == dropped


def test_code_that_does_not_parse_or_another_language_gives_none() -> None:
    assert dropped_uses("config.py", "def load(:\n 'HOST'", "", "") == []
    assert dropped_uses("main.go", 'x := m["id"]; f(x)', "", "") == []

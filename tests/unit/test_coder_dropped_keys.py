"""The keys a rewritten definition lost: short literals of the old one the new one lacks."""

from __future__ import annotations

import pytest

from bdg_coder.pipeline.dropped_keys import dropped_keys

OLD_PY = '''def load():
    """Read "HOST" from the environment."""
    return {"host": os.environ.get("HOST", "127.0.0.1"), "mode": "a b"}
'''
NEW_PY = 'def load():\n    return {"host": "127.0.0.1", "port": 8000}\n'


def test_a_python_definition_that_lost_a_key() -> None:
    # The docstring's "HOST" counts for nothing; the message "a b" is prose, free to change.
    assert dropped_keys("config.py", OLD_PY, NEW_PY, "Add a port entry") == ["HOST", "mode"]


def test_a_key_the_goal_names_may_go() -> None:
    assert dropped_keys("config.py", OLD_PY, NEW_PY, "Drop HOST and `mode`.") == []


def test_a_key_kept_anywhere_in_the_new_code_counts_as_kept() -> None:
    new = 'def load():\n    h = os.getenv(f"{\'HOST\'}")\n    return {"host": h, "mode": 1}\n'
    assert dropped_keys("config.py", OLD_PY, new, "") == []


@pytest.mark.parametrize(
    ("old", "new", "dropped"),
    [
        ("function f(o) { return o['id'] + `x-${o.n}`; }", "function f(o) { return o.n; }",
         ["id"]),
        ('function f(o) { return o["id"] ?? "none yet"; }', "function f(o) { return o.id; }",
         []),  # o.id keeps it; "none yet" is prose
        ('function f(s) { return s.split(","); }', "function f(s) { return s.split(';'); }",
         []),  # "," is not a key
    ],
)  # fmt: skip
def test_a_javascript_definition(old: str, new: str, dropped: list[str]) -> None:
    assert dropped_keys("src/f.js", old, new, "") == dropped


def test_code_that_does_not_parse_or_another_language_gives_none() -> None:
    assert dropped_keys("config.py", "def load(:\n 'HOST'", "", "") == []
    assert dropped_keys("main.go", 'x := m["id"]', "", "") == []

"""A change that does not create the file its goal asks for is no pass: the tester fails the
run without a sandbox (py-refactor-slugify reached the deploy approval on the agent bench with
no ``text.py``, the callers' old tests passing, a refactor needing no failing test)."""

from __future__ import annotations

import pytest

from bdg_contracts import events as ev
from bdg_tester.domain import files_not_created
from tests.unit.test_tester_empty_change import coded, run_tester

pytestmark = pytest.mark.timeout(10)
REFACTOR = (
    "Refactor: posts.py and tags.py repeat the same slug code. Move it into one function "
    "slugify(text) in a new module text.py, and make post_url and tag_url call it."
)
POSTS = "--- a/posts.py\n+++ b/posts.py\n@@ -1 +1 @@\n-a\n+b\n"
TEXT = "--- /dev/null\n+++ b/text.py\n@@ -0,0 +1 @@\n+def slugify(t): ...\n"


def test_the_files_a_goal_asks_to_create_must_be_in_the_change() -> None:
    assert files_not_created(REFACTOR, [POSTS]) == ("text.py",)
    assert files_not_created(REFACTOR, [POSTS, TEXT]) == ()
    nested = "Move it into formatDate(date) in a new module src/dates.js, and use it."
    assert files_not_created(nested, []) == ("src/dates.js",)
    assert files_not_created(nested, ["--- /dev/null\n+++ b/src/dates.js\n"]) == ()
    assert files_not_created("add a new file `docs/api.md` for it", []) == ("docs/api.md",)
    assert files_not_created("fix the module text.py", []) == ()  # no new file asked for


async def test_the_run_fails_without_a_sandbox_and_says_which_file() -> None:
    outcome = (await run_tester(coded(("coder", POSTS), goal=REFACTOR)))[-1]
    assert isinstance(outcome, ev.TestsFailed)
    assert "The goal asks for a new file `text.py`, and the change does not create it" in (
        outcome.analysis
    )
    assert outcome.results.output_tail == "[bdg] not created: `text.py`"

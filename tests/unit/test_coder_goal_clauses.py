"""A goal is cut into the requirements its new tests check one by one: sentences, and parts
after a colon or semicolon; never inside quotes or brackets; nothing dropped."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bdg_coder.pipeline.testing.goal_clauses import MAX_CLAUSES, goal_clauses


def test_sentences_and_the_parts_after_a_colon_are_requirements() -> None:
    goal = (
        'Extend load() in config.py with a "port" entry read from PORT: an int, 8000 when '
        "PORT is unset or empty. A PORT that is not a whole number raises ValueError."
    )
    assert goal_clauses(goal) == (
        'Extend load() in config.py with a "port" entry read from PORT',
        "an int, 8000 when PORT is unset or empty.",
        "A PORT that is not a whole number raises ValueError.",
    )


def test_quotes_brackets_abbreviations_and_file_names_are_never_cut() -> None:
    goal = (
        'Make parse() accept "a: b. C" and {a: 1; b: 2} (see e.g. Notes. Below) in '
        "records.py and don't stop there."
    )
    assert goal_clauses(goal) == (goal,)


def test_a_short_side_of_a_colon_stays_with_its_neighbour() -> None:
    assert goal_clauses("Bug: add() in calc.py subtracts its arguments. Fix it.") == (
        "Bug: add() in calc.py subtracts its arguments. Fix it.",
    )


def test_a_goal_with_many_parts_keeps_its_tail_in_the_last_requirement() -> None:
    goal = " ".join(f"Step number {n} is done." for n in range(1, 10))
    clauses = goal_clauses(goal)
    assert len(clauses) == MAX_CLAUSES
    assert clauses[-1] == " ".join(f"Step number {n} is done." for n in range(6, 10))


@given(st.text(max_size=300))
def test_any_goal_gives_at_most_the_cap_of_requirements_and_loses_no_word(goal: str) -> None:
    clauses = goal_clauses(goal)
    assert 1 <= len(clauses) <= MAX_CLAUSES
    words = [w.rstrip(":;") for w in goal.split()]
    assert [w.rstrip(":;") for c in clauses for w in c.split()] == words

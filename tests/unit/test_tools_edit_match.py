"""Finding a search text a model did not copy exactly: each rule, the order they go in, the
matches that must still be refused (ambiguous, too short to match loosely, not alike enough),
and the refusal quoting the closest lines. The captured 0.5B answers are in
test_coder_pipeline_answers.py; these are the rules one at a time."""

from __future__ import annotations

import pytest

from bdg_tools.edit_match import (
    EXACT,
    INDENTATION,
    LOOSE,
    MAX_STARTS,
    SPACING,
    TRAILING,
    _scored,
    find,
)
from bdg_tools.edits import EditError

STACK = (
    "class Stack:\n"
    "    def __init__(self):\n"
    "        self.items = []\n"
    "\n"
    "    def pop(self):\n"
    "        return self.items.pop()\n"
    "\n"
    "\n"
    "def word_counts(text):\n"
    "    counts = {}\n"
    "    for word in text.split():\n"
    "        counts[word] = counts.get(word, 0) + 1\n"
    "    return counts\n"
)


def test_an_exact_search_is_used_as_it_is() -> None:
    found = find("s.py", STACK, "return counts", "return dict(counts)")
    assert (found.search, found.replace, found.rule) == (
        "return counts",
        "return dict(counts)",
        EXACT,
    )


def test_trailing_whitespace_and_a_missing_final_newline_are_ignored() -> None:
    found = find("s.py", STACK, "    def pop(self):   \n        return self.items.pop()", "X")
    assert found.rule == TRAILING
    assert found.search == "    def pop(self):\n        return self.items.pop()\n"
    assert found.replace == "X\n"  # whole lines replaced: the line end stays


def test_a_block_copied_out_of_its_class_is_shifted_back_with_its_replacement() -> None:
    search = "def pop(self):\n    return self.items.pop()"
    replace = "def pop(self):\n    if not self.items:\n        raise IndexError('empty')\n" + (
        "    return self.items.pop()"
    )
    found = find("s.py", STACK, search, replace)
    assert found.rule == INDENTATION
    assert found.search == "    def pop(self):\n        return self.items.pop()\n"
    assert found.replace == (
        "    def pop(self):\n        if not self.items:\n            raise IndexError('empty')\n"
        "        return self.items.pop()\n"
    )


def test_a_block_indented_too_far_is_shifted_left() -> None:
    search = "        def word_counts(text):\n            counts = {}"
    replace = "        def word_counts(text, ignore_case=False):\n            counts = {}"
    found = find("s.py", STACK, search, replace)
    assert found.rule == INDENTATION
    assert found.replace == "def word_counts(text, ignore_case=False):\n    counts = {}\n"


def test_indentation_that_is_not_one_offset_is_not_the_indentation_rule() -> None:
    # the second line lost its indentation, the first kept it: found only ignoring whitespace
    found = find("s.py", STACK, "def word_counts(text):\ncounts = {}", "y")
    assert found.rule == SPACING


def test_spaces_inside_lines_are_ignored_and_a_code_fence_taken_off() -> None:
    search = "```python\ndef word_counts(text):\n    counts={}\n```"
    found = find("s.py", STACK, search, "```python\ndef word_counts(text):\n    counts = {}\n```")
    assert found.rule == SPACING
    assert found.search == "def word_counts(text):\n    counts = {}\n"
    assert found.replace == "def word_counts(text):\n    counts = {}\n"


def test_a_mis_remembered_line_in_a_block_is_found_loosely() -> None:
    search = (
        "def word_counts(text):\n    counts = {}\n    for w in text.split():\n"
        "        counts[word] = counts.get(word, 0) + 1\n    return counts\n"
    )
    found = find("s.py", STACK, search, "def word_counts(text):\n    return {}\n")
    assert found.rule == LOOSE
    assert found.search == "".join(STACK.splitlines(keepends=True)[8:])


def test_a_block_that_leaves_a_line_out_is_found_loosely() -> None:
    search = "class Stack:\n    def __init__(self):\n\n    def pop(self):\n"
    search += "        return self.items.pop()\n"  # without `self.items = []`
    replace = "class Stack:\n    def __init__(self):\n        self.items = []\n"  # kept
    found = find("s.py", STACK, search, replace)
    assert (found.rule, found.search) == (LOOSE, "".join(STACK.splitlines(keepends=True)[:6]))


def test_a_loose_match_that_would_delete_a_line_the_model_never_wrote_is_refused() -> None:
    search = "class Stack:\n    def __init__(self):\n\n    def pop(self):\n"
    search += "        return self.items.pop()\n"  # without `self.items = []`
    with pytest.raises(EditError) as refused:
        find("s.py", STACK, search, "class Stack:\n    pass\n")
    said = str(refused.value)
    assert "The closest lines in the file are lines 1-6" in said
    assert "The search leaves out line 3: 'self.items = []'." in said
    assert "The replacement leaves out line 3 'self.items = []' too, so the edit would" in said


def test_one_line_is_never_matched_loosely() -> None:
    with pytest.raises(EditError) as refused:
        find("s.py", STACK, "    return a-b", "    return a + b")
    assert "does not occur in s.py" in str(refused.value)


@pytest.mark.parametrize(
    ("content", "search", "how"),
    [
        ("x = 1\nx = 1\n", "x = 1", "occurs 2 times in f.py;"),
        ("if a:\n    x = 1\nif b:\n    x = 1\n", "x = 1  \n", "occurs 2 times in f.py (ignoring"),
        ("def f():\n  y=1\n\ndef g():\n  y =1\n", "y = 1\n", "2 times in f.py (ignoring"),
    ],
)
def test_a_search_found_in_two_places_is_refused_whatever_the_rule(
    content: str, search: str, how: str
) -> None:
    with pytest.raises(EditError) as refused:
        find("f.py", content, search, "z")
    assert how in str(refused.value)


def test_two_blocks_alike_enough_are_ambiguous_and_refused() -> None:
    block = "def {0}(text):\n    counts = {{}}\n    for word in text.split():\n        n += 1\n"
    content = block.format("first") + "\n\n" + block.format("second")
    search = block.format("third")
    with pytest.raises(EditError) as refused:
        find("f.py", content, search, "z")
    assert f"2 times in f.py ({LOOSE})" in str(refused.value)


def test_a_refusal_quotes_the_closest_lines_and_the_first_difference() -> None:
    search = "def word_count(text):\n    total = 0\n    return total\n"
    with pytest.raises(EditError) as refused:
        find("s.py", STACK, search, "z")
    said = str(refused.value)
    assert "The closest lines in the file are lines 9-" in said
    assert "The search's 'def word_count(text):' is 'def word_counts(text):' at line 9." in said
    assert said.endswith("Nothing was changed.")


def test_a_refusal_says_when_nothing_comes_close() -> None:
    with pytest.raises(EditError) as refused:
        find("s.py", STACK, "import zlib\nzlib.compress(b'')\nprint(42)\n", "z")
    assert "No lines of s.py come close to it: search text is lines of the file" in str(
        refused.value
    )


def test_an_empty_search_is_refused() -> None:
    with pytest.raises(EditError, match="search text is empty"):
        find("s.py", STACK, "```\n\n```", "z")


def test_a_loose_search_compares_a_bounded_number_of_blocks_whatever_the_file() -> None:
    # 500 lines all alike: comparing every block character by character took minutes
    lines = [f"    value_{i} = compute(value_{i - 1}, {i * 37 % 101})\n" for i in range(500)]
    content = "def f():\n" + "".join(lines)
    search = "".join(lines[250:270]).replace("compute", "compite")
    wanted = search.splitlines()
    assert len(_scored(content.splitlines(keepends=True), wanted)) <= 3 * MAX_STARTS
    found = find("x.py", content, search, "    pass\n")
    assert (found.rule, found.search) == (LOOSE, "".join(lines[250:270]))

"""The pipeline's whole-symbol format: which definition the goal is about, the check of the one
complete definition the model sends, its landing through replace_symbol's rules, the new test,
and prompts that are the same bytes for the same input."""

from __future__ import annotations

from bdg_coder.domain import CodingTask
from bdg_coder.pipeline import prompts
from bdg_coder.pipeline.rewrite import (
    RETRY_TEMPERATURE,
    Rewrite,
    Target,
    answer_temperature,
    check_rewrite,
    check_test,
    code_in,
    file_of_tests,
    is_stub,
    only_definition,
    parse_code,
    targets,
    trimmed,
)
from bdg_contracts.source_kinds import is_test_path

STRINGS = (
    "/** The text with its first letter in upper case. */\n"
    "export function capitalize(text) {\n"
    "  return text.charAt(0).toUpperCase() + text.slice(1);\n"
    "}\n\n"
    "export function titleCase(text) {\n"
    '  return text.split(" ").map(capitalize).join(" ");\n'
    "}\n"
)
COUNTS = (
    "import re\n\n\n"
    "def words(text):\n    return re.findall(r'[a-z]+', text, re.I)\n\n\n"
    "def word_counts(text):\n    counts = {}\n    for w in words(text):\n"
    "        counts[w] = counts.get(w, 0) + 1\n    return counts\n\n\n"
    "def most_common(text):\n    return max(word_counts(text).items(), key=lambda kv: kv[1])\n"
)
TEST_COUNTS = "from textstats.counts import word_counts\n\n\ndef test_one():\n    assert 1\n"


def test_the_definition_the_goal_calls_comes_first_then_the_others_it_calls() -> None:
    files = {"src/strings.js": STRINGS, "test/strings.test.js": 'import test from "node:test";\n'}
    goal = "capitalize() in src/strings.js throws on an empty string; so that titleCase() works"
    found = targets(goal, "", files)
    assert [(t.path, t.symbol) for t in found] == [
        ("src/strings.js", "capitalize"),
        ("src/strings.js", "titleCase"),
    ]
    assert not any(t.new for t in found)


def test_prose_before_a_parenthesis_is_not_a_new_function() -> None:
    files = {"textstats/counts.py": COUNTS}
    goal = "Add an ignore_case parameter (default False) to word_counts() in textstats/counts.py"
    assert [t.symbol for t in targets(goal, "", files)] == ["word_counts"]


def test_without_a_call_the_best_ranked_definition_alone_by_name_and_shared_words() -> None:
    files = {"textstats/counts.py": COUNTS, "other.py": "def most_common():\n    pass\n"}
    goal = "the counting of each word in textstats/counts.py must be kept in counts"
    found = targets(goal, "", files)
    assert [(t.path, t.symbol) for t in found] == [("textstats/counts.py", "word_counts")]


def test_a_called_name_no_file_defines_is_new_in_the_file_the_goal_names() -> None:
    files = {"src/words.js": STRINGS, "test/words.test.js": "x;\n"}
    goal = "Add and export pluralize(count, singular, plural) in src/words.js"
    (target,) = targets(goal, "", files)
    assert (target.path, target.symbol, target.new) == ("src/words.js", "pluralize", True)


def test_a_source_file_the_goal_names_gets_a_target_the_chosen_one_calls() -> None:
    order = (
        'import { discounted } from "./discount.js";\n\n'
        "export function orderTotal(lines, percent) {\n"
        "  return discounted(lines.reduce((a, l) => a + l.cents, 0), percent);\n}\n"
    )
    discount = (
        "export function rounded(x) {\n  return Math.round(x);\n}\n\n"
        "export function discounted(cents, fraction) {\n  return cents * (1 - fraction);\n}\n"
    )
    files = {"src/order.js": order, "src/discount.js": discount, "src/other.js": discount}
    goal = "Fix orderTotal() in src/order.js: percent is a percentage but src/discount.js reads it"
    assert [(t.path, t.symbol) for t in targets(goal, "", files)] == [
        ("src/order.js", "orderTotal"),
        ("src/discount.js", "discounted"),  # called by orderTotal; other.js is not named
    ]
    # a named file whose definitions the chosen one does not call: its best ranked
    files["src/order.js"] = "export function orderTotal(lines) {\n  return lines.length;\n}\n"
    named = "Fix orderTotal() in src/order.js, and the Math.round in src/discount.js"
    assert [t.symbol for t in targets(named, "", files)] == ["orderTotal", "rounded"]
    assert [t.symbol for t in targets("Fix orderTotal()", "", files)] == ["orderTotal"]


def test_test_files_are_never_targets_and_the_one_naming_the_symbol_is_its_test_file() -> None:
    assert is_test_path("tests/test_x.py")
    assert is_test_path("test/a.test.js")
    assert not is_test_path("src/testing_tools.py")
    files = {"textstats/counts.py": COUNTS, "tests/test_other.py": "", "tests/t.py": TEST_COUNTS}
    found = targets("word_counts() must count", "", files)
    assert [t.path for t in found] == ["textstats/counts.py"]
    assert file_of_tests(files, found[0]) == "tests/t.py"


def test_a_name_only_the_plan_calls_is_no_new_definition() -> None:
    """js-slugify-accents (1.5B, session 17): the plan quoted a method call, and a function
    replace() was written beside slugify(); a plan calling a function that is defined still
    points at it."""
    files = {"src/slugify.js": "export function slugify(text) {\n  return text;\n}\n"}
    goal = "Improve slugify() in src/slugify.js: accented letters become plain letters."
    plan = "- [ ] `src/slugify.js`: Replace the `replace(/[^a-z0-9-]/g, '')` with a better one"
    assert [(t.symbol, t.new) for t in targets(goal, plan, files)] == [("slugify", False)]
    helper = {**files, "src/strip.js": "export function strip(t) {\n  return t;\n}\n"}
    plan = "- [ ] `src/slugify.js`: call strip() first"
    assert [t.symbol for t in targets(goal, plan, helper)] == ["slugify", "strip"]


def test_a_complete_new_definition_lands_and_keeps_the_rest_of_the_file() -> None:
    target = Target("src/strings.js", "capitalize", 2, 100)
    code = (
        "function capitalize(text) {\n"
        "  return text ? text[0].toUpperCase() + text.slice(1) : '';\n}"
    )
    after, error = check_rewrite(STRINGS, target, code)
    assert error == ""
    assert "export function capitalize(text) {\n  return text ? text[0]" in after  # export kept
    assert after.endswith(STRINGS[STRINGS.index("export function titleCase") :])


def test_the_wrong_name_a_parse_error_no_definition_and_the_old_code_are_refused() -> None:
    target = Target("textstats/counts.py", "word_counts", 9, 100)
    wrong, error = check_rewrite(COUNTS, target, "def count_words(text):\n    return {}")
    assert wrong == ""
    assert "defines count_words, not word_counts" in error
    _, error = check_rewrite(COUNTS, target, "def word_counts(text:\n    return {}")
    assert "does not parse" in error
    _, error = check_rewrite(COUNTS, target, "ignore_case=False")
    assert "defines no function or class" in error
    old = COUNTS[COUNTS.index("def word_counts") : COUNTS.index("\n\n\ndef most_common")]
    _, error = check_rewrite(COUNTS, target, old)
    assert error.startswith("the code you sent is word_counts exactly as it is now")
    assert "edit_file" not in error
    assert "Nothing was changed" not in error


def test_a_new_definition_is_added_at_the_end_and_must_define_only_that_name() -> None:
    target = Target("src/words.js", "pluralize", 0, 100)
    code = "export function pluralize(n, one, many) {\n  return `${n} ${n === 1 ? one : many}`;\n}"
    after, error = check_rewrite(STRINGS, target, code)
    assert error == ""
    assert after == STRINGS + "\n" + code + "\n"
    _, error = check_rewrite(STRINGS, target, "export function plural(n) {}\n")
    assert error == "the code must define pluralize and nothing else; it defines plural"
    _, error = check_rewrite(STRINGS, Target("src/words.js", "capitalize", 0, 1), code)
    assert "must define capitalize" in error


def test_a_new_test_is_kept_only_when_it_parses_and_defines_new_tests_only() -> None:
    test = "def test_ignore_case():\n    assert word_counts('A a', ignore_case=True) == {'a': 2}"
    after, error = check_test("tests/t.py", TEST_COUNTS, test)
    assert error == ""
    assert after == TEST_COUNTS + "\n\n" + test + "\n"
    assert check_test("tests/t.py", TEST_COUNTS, "def test_x(:\n")[1].startswith("the test does")
    again = check_test("tests/t.py", TEST_COUNTS, TEST_COUNTS)[1]
    assert "already has a test named test_one" in again
    helper = "def helper():\n  pass"
    assert "test_ functions only" in check_test("tests/t.py", TEST_COUNTS, helper)[1]
    both = f"{test}\n\n\ndef test_default():\n    assert word_counts('A a') == {{'A': 1, 'a': 1}}"
    assert check_test("tests/t.py", TEST_COUNTS, both) == (TEST_COUNTS + "\n\n" + both + "\n", "")
    assert "test_ functions only" in check_test("tests/t.py", TEST_COUNTS, f"{test}\n\n{helper}")[1]
    js = 'test("empty", () => {\n  assert.equal(capitalize(""), "");\n});'
    assert check_test("test/s.test.js", "import test from 'node:test';\n", js)[1] == ""
    assert "would not parse" in check_test("test/s.test.js", "", "test(() => {")[1]


def test_the_answer_is_the_code_field_or_nothing() -> None:
    assert parse_code('{"code": "def f():\\n    pass"}', Rewrite) == "def f():\n    pass"
    assert parse_code('{"edits": []}', Rewrite) is None
    assert parse_code('{"code": ""}', Rewrite) is None


def test_a_long_file_is_trimmed_around_the_definition() -> None:
    body = "".join(f"def f{i}():\n    return {i}\n\n\n" for i in range(40))
    shown = trimmed("m.py", body, Target("m.py", "f20", 81, 1))
    assert "def f20():" in shown
    assert "def f0():" not in shown
    assert shown.startswith("[... 70 lines above]\n")
    assert shown.endswith("lines below]")
    assert trimmed("m.py", COUNTS, Target("m.py", "words", 4, 1)) == COUNTS


def test_the_prompts_are_the_same_bytes_for_the_same_input_and_name_the_symbol() -> None:
    task = CodingTask(goal="word_counts() must ignore case", plan_markdown="1. do it", attempt=1)
    one = prompts.rewrite_prompt(task, "textstats/counts.py", COUNTS, "word_counts", False)
    two = prompts.rewrite_prompt(task, "textstats/counts.py", COUNTS, "word_counts", False)
    assert one.encode() == two.encode()
    assert one.startswith(f"The file `textstats/counts.py` as it is now:\n```\n{COUNTS}```")
    assert one.index("Goal: word_counts()") > one.index("def most_common")  # the goal after
    assert one.endswith(
        "Write the complete new definition of `word_counts`, changed so that it does what the "
        "goal asks (the current one does not). Keep its name. Only that definition."
    )
    assert "new function `pluralize`" in prompts.rewrite_prompt(task, "w.js", "", "pluralize", True)
    test = prompts.test_prompt(task, [("a.py", "def f(): ...")], "tests/t.py", TEST_COUNTS, [])
    assert test == prompts.test_prompt(
        task, [("a.py", "def f(): ...")], "tests/t.py", TEST_COUNTS, []
    )
    assert "one function whose name starts with `test_`" in test
    assert test.endswith("using only names the file already imports.")
    assert "The changed code:\n`a.py`:\n```\ndef f(): ...\n```" in test
    new = prompts.test_prompt(task, [("a.py", "def f(): ...")], "tests/t.py", TEST_COUNTS, ["f"])
    assert new.endswith("using only names the file already imports and `f` (imported for you).")
    retry = prompts.rewrite_retry("word_counts", "it defines count_words, not word_counts.")
    assert retry == (
        "That code could not be used: it defines count_words, not word_counts. Send the "
        "complete new definition of `word_counts` again, corrected."
    )


def test_a_new_module_the_goal_names_gets_its_new_definition_first() -> None:
    """py-refactor-slugify: the new function goes in the new module, before the definitions
    of the files the goal names that are to call it."""
    files = {
        "posts.py": "def post_url(t):\n    return t\n",
        "tags.py": "def tag_url(t):\n    return t\n",
    }
    goal = (
        "Refactor: posts.py and tags.py repeat the same slug code. Move it into one function "
        "slugify(text) in a new module text.py, and make post_url and tag_url call it."
    )
    assert [(t.path, t.symbol, t.new) for t in targets(goal, "", files)] == [
        ("text.py", "slugify", True),
        ("posts.py", "post_url", False),
        ("tags.py", "tag_url", False),
    ]


def test_a_goal_naming_a_file_not_shown_that_is_no_new_module_goes_to_the_list_of_edits() -> None:
    files = {"posts.py": "def post_url(t):\n    return t\n"}
    for goal in (
        "Move it into one function slugify(text) in a new file config.json",  # no source file
        "Add test_slug() calling slugify() to tests/test_text.py",  # a test file
        "Write text.py and util.py with slugify()",  # two files to create
        "Create text.py with the slug code",  # nothing of ours called: nothing goes there
    ):
        assert targets(goal, "", files) == [], goal


def test_a_plural_in_parentheses_is_no_call() -> None:
    files = {"records.py": "def parse(text):\n    return []\n"}
    goal = 'Make parse() name every missing column, e.g. "missing column(s): age"'
    assert [(t.symbol, t.new) for t in targets(goal, "", files)] == [("parse", False)]


def test_the_code_of_a_plain_answer_is_its_first_block_else_the_whole_text() -> None:
    assert (
        code_in("Here:\n```python\ndef f():\n    return 1\n```\nDone.") == "def f():\n    return 1"
    )
    assert code_in("```js\nfunction f() {}\n") == "function f() {}"  # left open: to the end
    assert code_in("def f():\n    pass\n") == "def f():\n    pass"
    assert code_in("```\n```") is None


def test_the_definition_is_taken_out_of_a_whole_file_sent_back() -> None:
    whole = '"""Doc."""\nimport os\n\n\ndef f():\n    return 2\n\n\ndef g():\n    pass\n'
    assert only_definition("m.py", whole, "f") == "def f():\n    return 2"
    cls = "class A:\n    def get(self):\n        return 2\n\n    def put(self):\n        pass\n"
    assert only_definition("m.py", cls, "A.get") == "def get(self):\n    return 2"
    assert only_definition("m.py", "def f(:\n", "f") == "def f(:\n"  # not parsed: as sent
    assert only_definition("m.py", whole, "h") == whole  # not in it: as sent (the check says)
    # and the check lands it: the rest of the answer is not written into the file
    target = Target("textstats/counts.py", "word_counts", 9, 1)
    sent = COUNTS.replace("counts[w] = counts.get(w, 0) + 1", "counts[w.lower()] = 1")
    after, error = check_rewrite(COUNTS, target, sent)
    assert error == ""
    assert after == sent


def test_a_retry_and_a_later_attempt_s_first_answer_sample() -> None:
    # at temperature 0 a second attempt resent the definition it was shown: "changed nothing"
    assert answer_temperature(attempt=1, turn=0, temperature=0.0) == 0.0
    assert answer_temperature(attempt=1, turn=1, temperature=0.0) == RETRY_TEMPERATURE
    assert answer_temperature(attempt=2, turn=0, temperature=0.0) == RETRY_TEMPERATURE
    assert answer_temperature(attempt=1, turn=0, temperature=0.4) == 0.4  # a candidate's own


def test_a_stub_does_not_land_in_place_of_a_definition() -> None:
    """py-refactor-slugify (1.5B, session 17): asked again for post_url(), the model sent
    "# Implement the post_url function here" and ``pass``, and it landed."""
    posts = 'def post_url(title: str) -> str:\n    return f"/posts/{title}"\n'
    target = Target("posts.py", "post_url", 1, 100)
    stub = "def post_url(title: str) -> str:\n    # Implement the post_url function here\n    pass"
    _, error = check_rewrite(posts, target, stub)
    assert error.startswith("the code you sent is a stub of post_url")
    _, error = check_rewrite(posts, target, 'def post_url(title: str) -> str:\n    """Doc."""\n')
    assert "stub" in error
    js = Target("src/words.js", "capitalize", 2, 100)
    _, error = check_rewrite(STRINGS, js, "export function capitalize(text) {\n  // TODO\n}")
    assert "stub" in error
    # a real body lands, and a stub may replace a stub (NotImplementedError aside, nothing lost)
    after, error = check_rewrite(posts, target, posts.replace("/posts/", "/p/"))
    assert (error, "/p/" in after) == ("", True)
    stubbed = "def post_url(title: str) -> str:\n    pass\n"
    assert check_rewrite(stubbed, target, "def post_url(title: str) -> str:\n    ...")[1] == ""
    assert is_stub("posts.py", "def f():\n    return 1") is False


def test_a_path_only_the_plan_names_or_a_shown_file_s_tail_is_no_file_to_create() -> None:
    """py-sortlines-reverse (1.5B, session 17): the plan said "the `test_sortlines.py` file"
    for tests/test_sortlines.py, and the job went to the list of edits."""
    files = {
        "sortlines.py": "def sort_lines(lines):\n    return sorted(lines)\n",
        "tests/test_sortlines.py": "def test_x():\n    pass\n",
    }
    goal = "Add a reverse argument to sort_lines() in sortlines.py; test it in test_sortlines.py."
    plan = "- [ ] `helpers.py`: a new helper\n- [ ] `test_sortlines.py`: a test"
    assert [t.symbol for t in targets(goal, plan, files)] == ["sort_lines"]

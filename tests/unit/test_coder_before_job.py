"""The file before the job changed it: earlier attempts' patches undone, last first."""

from __future__ import annotations

from bdg_coder.pipeline.before_job import before_job, hunks_of, unanchored

BASE = (
    "/** Limit `value` to the range [min, max]. */\n"
    "export function clamp(value, min, max) {\n"
    "  if (value < min) {\n"
    "    return min;\n"
    "  }\n"
    "  if (value > max) {\n"
    "    return min;\n"
    "  }\n"
    "  return value;\n"
    "}\n"
)
# attempt 1 of js-clamp-fix (1.5B, session 14), as its FilesChanged recorded it
PATCH = (
    "diff --git a/src/clamp.js b/src/clamp.js\n"
    "index 2b3ef82..a4ac812 100644\n"
    "--- a/src/clamp.js\n"
    "+++ b/src/clamp.js\n"
    "@@ -1,10 +1,7 @@\n"
    " /** Limit `value` to the range [min, max]. */\n"
    " export function clamp(value, min, max) {\n"
    "-  if (value < min) {\n"
    "-    return min;\n"
    "-  }\n"
    "   if (value > max) {\n"
    "-    return min;\n"
    "+    return max;\n"
    "   }\n"
    "   return value;\n"
    " }\n"
)
AFTER = (
    "/** Limit `value` to the range [min, max]. */\n"
    "export function clamp(value, min, max) {\n"
    "  if (value > max) {\n"
    "    return max;\n"
    "  }\n"
    "  return value;\n"
    "}\n"
)
TEST_PATCH = (
    "diff --git a/test/clamp.test.js b/test/clamp.test.js\n"
    "--- a/test/clamp.test.js\n"
    "+++ b/test/clamp.test.js\n"
    "@@ -3,0 +4,2 @@\n"
    "+test('x', () => {});\n"
    "+\n"
)


def test_an_attempt_s_patch_is_undone_on_the_file_it_changed() -> None:
    assert before_job("src/clamp.js", AFTER, [PATCH]) == BASE
    assert before_job("src/clamp.js", AFTER, [TEST_PATCH, PATCH]) == BASE  # other files skipped
    assert before_job("src/other.js", "x\n", [PATCH]) == "x\n"  # untouched: as it is


def test_patches_are_undone_last_first_and_a_removal_only_hunk_is_put_back() -> None:
    second = (
        "diff --git a/src/clamp.js b/src/clamp.js\n"
        "--- a/src/clamp.js\n"
        "+++ b/src/clamp.js\n"
        "@@ -6 +5,0 @@\n"
        "-  return value;\n"
    )
    now = AFTER.replace("  return value;\n", "")
    assert before_job("src/clamp.js", now, [PATCH, second]) == BASE


def test_a_file_the_job_created_or_one_that_moved_on_has_no_before() -> None:
    created = (
        "diff --git a/src/new.js b/src/new.js\n"
        "new file mode 100644\n"
        "--- /dev/null\n"
        "+++ b/src/new.js\n"
        "@@ -0,0 +1 @@\n"
        "+export const x = 1;\n"
    )
    assert hunks_of(created, "src/new.js") is None
    assert before_job("src/new.js", "export const x = 1;\n", [created]) is None
    assert before_job("src/clamp.js", AFTER.replace("max;", "max + 0;"), [PATCH]) is None
    assert hunks_of(PATCH, "src/other.js") == []


WORDS = (
    "/** The text with its first letter in upper case. */\n"
    "export function capitalize(text) {\n"
    "  return text.charAt(0).toUpperCase() + text.slice(1);\n"
    "}\n"
)
# js-pluralize, attempt 1 of the 1.5B (session 17): a new definition the tests failed on
PLURALIZE = (
    "export function pluralize(count, singular, plural) {\n"
    "  return count === 1 ? singular : plural;\n"
    "}\n"
)


def test_a_fresh_ask_shows_the_definition_as_it_was_before_the_job() -> None:
    shown = unanchored("src/clamp.js", AFTER, BASE, "clamp")
    assert shown == (BASE, False)
    # the rest of the file as it is now: only the definition is put back
    now = "// a note the job added\n" + AFTER
    assert unanchored("src/clamp.js", now, BASE, "clamp") == (
        "// a note the job added\n" + BASE,
        False,
    )


def test_a_definition_the_job_added_is_left_out_and_asked_for_as_new() -> None:
    assert unanchored("src/words.js", WORDS + "\n" + PLURALIZE, WORDS, "pluralize") == (WORDS, True)


def test_nothing_is_shown_afresh_for_a_definition_the_job_has_not_changed() -> None:
    assert unanchored("src/clamp.js", BASE, BASE, "clamp") is None
    assert unanchored("src/words.js", WORDS, WORDS, "pluralize") is None  # not written at all

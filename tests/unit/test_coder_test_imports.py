"""A new function's test gets the function imported (pipeline/test_imports.py), on the import
lines small models' test files have: the agent bench's JavaScript and Python layouts."""

from __future__ import annotations

import pytest

from bdg_coder.pipeline.testing.test_imports import module_name, with_imports

pytestmark = pytest.mark.timeout(10)

JS_TEST = """import test from "node:test";
import assert from "node:assert/strict";
import { capitalize } from "../src/words.js";

test("capitalize", () => assert.equal(capitalize("a"), "A"));

test("pluralize", () => assert.equal(pluralize(2, "cat", "cats"), "cats"));
"""


def test_a_javascript_import_of_the_module_gets_the_new_names() -> None:
    after = with_imports("test/words.test.js", JS_TEST, "src/words.js", ["pluralize"])
    assert 'import { capitalize, pluralize } from "../src/words.js";\n' in after
    assert after.replace("capitalize, pluralize", "capitalize") == JS_TEST
    # without the extension in the import, and twice: nothing more
    bare = JS_TEST.replace("../src/words.js", "../src/words")
    once = with_imports("test/words.test.js", bare, "src/words.js", ["pluralize"])
    assert "import { capitalize, pluralize } from" in once
    assert with_imports("test/words.test.js", once, "src/words.js", ["pluralize"]) == once


def test_a_javascript_file_with_no_import_of_the_module_gets_a_line_after_its_imports() -> None:
    other = JS_TEST.replace('import { capitalize } from "../src/words.js";\n', "")
    after = with_imports("test/words.test.js", other, "src/words.js", ["pluralize", "singular"])
    lines = after.splitlines()
    assert lines[2] == 'import { pluralize, singular } from "../src/words.js";'
    assert (
        with_imports("words.test.js", "", "words.js", ["f"]) == 'import { f } from "./words.js";\n'
    )


def test_a_name_the_model_imported_itself_or_an_alias_is_left_alone() -> None:
    own = JS_TEST + 'import { pluralize } from "../src/words.js";\n'
    assert with_imports("test/words.test.js", own, "src/words.js", ["pluralize"]) == own
    aliased = JS_TEST.replace("{ capitalize }", "{ capitalize, plural as pluralize }")
    assert with_imports("test/words.test.js", aliased, "src/words.js", ["pluralize"]) == aliased


def test_a_python_from_import_of_the_module_gets_the_new_names() -> None:
    test = "from words import capitalize\n\n\ndef test_capitalize():\n    assert capitalize('a')\n"
    after = with_imports("tests/test_words.py", test, "words.py", ["pluralize"])
    assert after.startswith("from words import capitalize, pluralize\n")
    src = test.replace("from words", "from src.words")
    assert with_imports("tests/test_words.py", src, "src/words.py", ["pluralize"]).startswith(
        "from src.words import capitalize, pluralize\n"
    )
    # another module's import is not extended; a module deeper than the top gets no line
    # unless the project's imports tell its name
    other = test.replace("from words", "from strings")
    assert with_imports("tests/test_words.py", other, "lib/words.py", ["pluralize"]) == other
    assert with_imports("tests/test_words.py", after, "words.py", ["pluralize"]) == after


def test_a_new_line_imports_a_module_named_as_the_project_s_imports_show() -> None:
    """py-refactor-slugify: the test file and post_url() use slugify(), written in a new
    module text.py; a module at the top is imported by its stem, a deeper one by the folder
    the project's own imports show on the path (src/ layout: ``from app.db import``)."""
    test = "from posts import post_url\n\n\ndef test_links():\n    assert post_url('a')\n"
    after = with_imports("tests/test_links.py", test, "text.py", ["slugify"])
    assert after.startswith("from posts import post_url\nfrom text import slugify\n")
    files = {"src/app/db.py": "", "tests/test_db.py": "from app.db import connect\n"}
    assert module_name("src/app/text.py", files) == "app.text"
    assert module_name("src/app/text.py", {}) == ""
    assert module_name("text.py", {}) == "text"
    deep = with_imports(
        "tests/test_db.py", files["tests/test_db.py"], "src/app/text.py", ["f"], files
    )
    assert deep == "from app.db import connect\nfrom app.text import f\n"


def test_other_languages_and_no_names_change_nothing() -> None:
    assert with_imports("test/x_test.go", "package x\n", "x.go", ["F"]) == "package x\n"
    assert with_imports("test/words.test.js", JS_TEST, "src/words.js", []) == JS_TEST

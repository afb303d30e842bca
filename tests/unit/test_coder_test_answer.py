"""A test answer that sends the test file back keeps only its new part
(pipeline/test_answer.py), and check_test then takes it."""

from __future__ import annotations

import pytest

from bdg_coder.pipeline.rewrite import check_test
from bdg_coder.pipeline.testing.test_answer import new_part

pytestmark = pytest.mark.timeout(10)

PY_FILE = (
    "import os\n\nfrom config import load\n\n\n"
    'def test_host_default() -> None:\n    os.environ.pop("HOST", None)\n'
    '    assert load()["host"] == "127.0.0.1"\n'
)
# The 1.5B's answer on the agent bench's py-config-port (dev), attempt 1
PY_ANSWER = (
    "import os\n\nfrom config import load\n\n\n"
    'def test_host_default() -> None:\n    os.environ.pop("HOST", None)\n'
    '    assert load()["host"] == "127.0.0.1"\n\n'
    'def test_port_default() -> None:\n    os.environ.pop("PORT", None)\n'
    '    assert load()["port"] == 8000\n'
)
NEW_PY = (
    'def test_port_default() -> None:\n    os.environ.pop("PORT", None)\n'
    '    assert load()["port"] == 8000'
)
JS_FILE = (
    'import test from "node:test";\nimport assert from "node:assert/strict";\n'
    'import { f } from "../src/f.js";\n\ntest("a", () => {\n  assert.equal(f(1), 1);\n});\n'
)


def test_python_keeps_the_new_tests_and_imports_only() -> None:
    assert new_part("tests/test_config.py", PY_FILE, PY_ANSWER) == NEW_PY
    after, error = check_test("tests/test_config.py", PY_FILE, PY_ANSWER)
    assert error == ""
    assert after == PY_FILE + "\n\n" + NEW_PY + "\n"
    decorated = '@pytest.mark.parametrize("port", ["1"])\ndef test_port(port):\n    assert port'
    assert new_part("tests/test_config.py", PY_FILE, PY_FILE + "\n\n" + decorated) == decorated
    with_import = "import pytest\nimport os\n\n" + NEW_PY
    assert new_part("tests/test_config.py", PY_FILE, with_import) == "import pytest\n\n\n" + NEW_PY


def test_python_answers_with_nothing_new_or_unreadable_are_left_to_check_test() -> None:
    assert new_part("tests/test_config.py", PY_FILE, PY_FILE) == PY_FILE
    assert (
        "already has a test named test_host_default"
        in check_test("tests/test_config.py", PY_FILE, PY_FILE)[1]
    )
    assert new_part("tests/test_config.py", PY_FILE, "def test_x(:\n") == "def test_x(:\n"
    assert new_part("tests/test_config.py", PY_FILE, NEW_PY) == NEW_PY  # nothing to drop


def test_javascript_drops_the_file_s_statements_and_names_it_binds() -> None:
    answer = (
        JS_FILE + '\nimport { f, g as h } from "../src/f.js";\n\n'
        'test("b", () => {\n  assert.equal(h(2), 2);\n});\n'
    )
    kept = new_part("test/f.test.js", JS_FILE, answer)
    assert kept == (
        'import { g as h } from "../src/f.js";\n\ntest("b", () => {\n  assert.equal(h(2), 2);\n});'
    )
    after, error = check_test("test/f.test.js", JS_FILE, answer)
    assert error == ""
    assert after.count('import test from "node:test"') == 1
    again = 'import test from "node:test";\n\ntest("c", () => {});'
    assert new_part("test/f.test.js", JS_FILE, again) == 'test("c", () => {});'
    assert new_part("test/f.test.js", JS_FILE, JS_FILE) == JS_FILE  # nothing new: as sent
    assert "in the file already" in check_test("test/f.test.js", JS_FILE, JS_FILE)[1]

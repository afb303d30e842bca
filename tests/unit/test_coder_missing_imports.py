"""Names a rewritten Python definition uses but its file lacks (``missing_imports``)."""

from __future__ import annotations

from bdg_coder.pipeline.missing_imports import add_missing_imports, undefined

BEFORE = '"""Config."""\n\nimport os\n\n\ndef load():\n    return {"host": "127.0.0.1"}\n'
# What the 1.5B wrote on the agent bench (py-config-port), in short, and a name of its own.
AFTER = (
    '"""Config."""\n\nimport os\n\n\n'
    "def load() -> Dict[str, Union[str, int]]:\n"
    '    port = re.sub(r"\\s", "", os.environ.get("PORT", ""))\n'
    '    return {"host": "127.0.0.1", "port": helper(port)}\n'
)


def test_typing_names_and_standard_modules_are_imported_and_the_rest_is_said() -> None:
    fixed, missing = add_missing_imports("config.py", BEFORE, AFTER)
    head = '"""Config."""\n\nimport os\nimport re\nfrom typing import Dict, Union\n'
    assert fixed.startswith(head)
    assert fixed.endswith(AFTER.split("import os\n", 1)[1])
    assert missing == ["helper"]
    assert undefined("config.py", fixed) == {"helper"}


def test_python_s_own_scopes_decide_what_is_defined() -> None:
    code = (
        "from __future__ import annotations\n"
        "import json\n\n"
        "LIMIT = 3\n\n\n"
        "class Cache:\n"
        "    def get(self, key: Missing) -> int:\n"  # an annotation never evaluated
        "        total = [k for k in range(LIMIT) if k != key]\n"
        "        return len(json.dumps(total)) + len(__name__)\n"
    )
    assert undefined("m.py", code) == set()
    assert undefined("m.py", "def f():\n    return g()\n") == {"g"}
    assert undefined("m.py", "from x import *\n\ndef f():\n    return g()\n") == set()
    assert undefined("m.py", "def f(:\n") == set()  # does not parse: the check says so
    assert undefined("m.js", "function f() { return g(); }\n") == set()


def test_names_undefined_before_the_change_are_not_its_doing() -> None:
    before = "def f():\n    return g()\n"
    after = "def f():\n    return g() + 1\n"
    assert add_missing_imports("m.py", before, after) == (after, [])


def test_a_test_file_gets_pytest_and_a_file_with_no_import_gets_them_at_the_top() -> None:
    test = "def test_port():\n    with pytest.raises(ValueError):\n        int('x')\n"
    fixed, missing = add_missing_imports("tests/test_c.py", "", test, test_file=True)
    assert fixed == "import pytest\n\n" + test
    assert missing == []
    assert add_missing_imports("c.py", "", test)[1] == ["pytest"]  # not a test file: no guess

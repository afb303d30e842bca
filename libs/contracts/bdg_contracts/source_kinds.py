"""Which files of a repository are tests: one rule for every service that must tell.

The coder keeps its rewrites out of tests, the tester asks whether a change reaches code the
tests run, and the reviewer reads the source before the tests; a rule that differed between
them would let one count as source what another counts as a test.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

TEST_FOLDERS = frozenset({"test", "tests", "__tests__", "spec", "hidden_tests"})
_SUFFIXED = re.compile(r"[._-](test|spec)\.[a-z]+$")  # x.test.js, x_test.py, x-spec.ts


def is_test_path(path: str) -> bool:
    p = PurePosixPath(path)
    name = p.name
    return (
        name.startswith("test_")
        or name == "conftest.py"
        or bool(_SUFFIXED.search(name))
        or any(part in TEST_FOLDERS for part in p.parts[:-1])
    )

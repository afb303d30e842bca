"""One rule says which files are tests, for the coder, the tester and the reviewer alike."""

import pytest

from bdg_contracts.source_kinds import is_test_path


@pytest.mark.parametrize(
    "path",
    [
        "tests/test_x.py",
        "test_x.py",
        "pkg/x_test.py",
        "conftest.py",
        "test/a.test.js",
        "src/a.spec.ts",
        "src/__tests__/a.js",
        "spec/a.rb",
        "hidden_tests/test_a.py",
        "lib/a-test.js",
    ],
)
def test_a_test_file(path: str) -> None:
    assert is_test_path(path)


@pytest.mark.parametrize(
    "path", ["src/testing_tools.py", "contest.py", "src/latest.js", "tests.py", "x/test"]
)
def test_a_source_file(path: str) -> None:
    assert not is_test_path(path)

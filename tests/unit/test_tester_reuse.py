"""When the fail-to-pass base run may copy the change's installed dependencies (pure part)."""

from __future__ import annotations

import difflib
import json

import pytest

from bdg_tester.detection.detect import detect_projects
from bdg_tester.sandbox.reuse import Installed, differing, reusable_dirs

PYPROJECT = (
    '[project]\nname = "calc"\nversion = "1"\n[project.optional-dependencies]\ntest = ["pytest"]\n'
)
PY = {"pyproject.toml": PYPROJECT, "calc/ops.py": "", "tests/test_ops.py": ""}


def diff(path: str, old: str | None, new: str) -> str:
    before = "/dev/null" if old is None else f"a/{path}"
    lines = (old or "").splitlines(keepends=True), new.splitlines(keepends=True)
    return "".join(difflib.unified_diff(*lines, before, f"b/{path}"))


def package(scripts: dict[str, str] | None = None, **fields: object) -> str:
    return json.dumps(
        {"name": "app", "scripts": {"test": "vitest run", **(scripts or {})}, **fields,
         "devDependencies": {"vitest": "^2.0.0"}}
    )  # fmt: skip


JS = {"package.json": package(), "package-lock.json": "{}", "src/a.js": "", "src/a.test.js": ""}


def dirs(tree: dict[str, str], changed: list[str], **base: str) -> tuple[str, ...] | str:
    """The decision for a change installed from ``tree``, its base being ``tree`` + ``base``."""
    installed = Installed("ws-1", tuple(detect_projects(tree)))
    after = {**tree, **base}
    return reusable_dirs(detect_projects(after), installed, changed, after)


def test_a_python_change_of_code_and_tests_copies_the_venv() -> None:
    assert dirs(PY, ["calc/ops.py"]) == (".bdg-venv",)


def test_an_npm_change_copies_node_modules_of_the_root_and_its_members() -> None:
    assert dirs(JS, ["src/a.js"]) == ("node_modules",)
    monorepo = {
        "package.json": json.dumps({"name": "root", "private": True, "workspaces": ["pkgs/*"]}),
        "package-lock.json": "{}",
        "pkgs/a/package.json": package(),
        "pkgs/a/src/a.test.js": "",
    }
    assert dirs(monorepo, ["pkgs/a/src/a.js"]) == ("node_modules", "pkgs/a/node_modules")


def test_uv_and_poetry_projects_copy_their_in_project_venv_too() -> None:
    uv = {**PY, "uv.lock": ""}
    assert dirs(uv, ["calc/ops.py"]) == (".bdg-venv", ".venv")


@pytest.mark.parametrize(
    "touched",
    ["pyproject.toml", "requirements-dev.txt", "package-lock.json", "sub/uv.lock", ".npmrc"],
)
def test_a_change_of_a_dependency_file_installs_again(touched: str) -> None:
    assert dirs(PY, ["calc/ops.py", touched]) == f"the change touches {touched}"


@pytest.mark.parametrize(
    ("tree", "why"),
    [
        ({**JS, "package.json": package({"postinstall": "node gen.js"})}, "lifecycle scripts"),
        ({**JS, ".yarnrc.yml": "", "yarn.lock": ""}, "Plug'n'Play"),
        ({"Cargo.toml": '[package]\nname = "x"\n', "src/lib.rs": "#[test]\nfn t() {}\n"}, "cargo"),
        ({**PY, "requirements.txt": "pytest\n./vendor/lib  # ours\n"}, "without -e"),
    ],
)
def test_installs_whose_result_a_copy_may_miss_install_again(
    tree: dict[str, str], why: str
) -> None:
    found = dirs(tree, ["src/a.js", "calc/ops.py", "src/lib.rs"])
    assert isinstance(found, str)
    assert why in found


def test_an_editable_requirement_of_the_project_itself_is_copied() -> None:
    assert dirs({**PY, "requirements.txt": "-e .\npytest\n"}, ["calc/ops.py"]) == (".bdg-venv",)


def test_a_base_project_the_change_did_not_install_so_installs_again() -> None:
    found = dirs(PY, ["calc/ops.py"], **{"web/package.json": package(), "web/a.test.js": ""})
    assert found == "web was not installed so in the change's workspace"


def test_what_differs_is_the_changes_non_test_files_and_what_the_tester_wrote() -> None:
    patches = [
        diff("calc/ops.py", "a\n", "b\n"),
        diff("tests/test_ops.py", None, "t\n"),
        diff("package.json", "{}\n", '{"a": 1}\n'),
    ]
    assert differing(patches, ["tests/test_smoke.py"]) == [
        "calc/ops.py",
        "package.json",
        "tests/test_smoke.py",
    ]

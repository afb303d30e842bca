"""Python projects: how to install them with their test extras, and pytest with JUnit + coverage.

Coverage comes from pytest-cov when the project declares it; otherwise from coverage.py itself
(`coverage run -m pytest`, then `coverage json`), installed with pytest when not declared.
"""

from __future__ import annotations

import configparser
import re
import tomllib
from collections.abc import Iterable, Mapping
from typing import Any

from bdg_tester.detection.projects import (
    Argv,
    CoverageFormat,
    Framework,
    Kind,
    Language,
    Outputs,
    PackageManager,
    Project,
    ResultsFormat,
)
from bdg_tester.detection.tree import (
    Tree,
    in_fixture_dir,
    is_member,
    is_python_test,
    is_requirements,
    join,
    parent,
)

_DEFINING = ("pyproject.toml", "setup.py", "setup.cfg", "tox.ini", "pytest.ini")
_TEST_EXTRAS = ("test", "tests", "testing", "dev")
_TOOLS = frozenset({"pytest", "pytest-cov", "coverage"})
_NOT_PACKAGES = frozenset({"tests", "test", "docs", "doc", "examples", "scripts", "benchmarks"})
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _name(requirement: str) -> str | None:
    match = _NAME.match(requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else None


def _names(requirements: Iterable[Any]) -> set[str]:
    return {n for r in requirements if isinstance(r, str) and (n := _name(r))}


def _toml(text: str) -> Mapping[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}


def _table(data: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    for key in keys:
        value = data.get(key)
        data = value if isinstance(value, dict) else {}
    return data


def _extras(pyproject: Mapping[str, Any]) -> dict[str, set[str]]:
    optional = _table(pyproject, "project", "optional-dependencies")
    return {k: _names(v) for k, v in optional.items() if isinstance(v, list)}


def _test_extras(extras: Mapping[str, set[str]]) -> list[str]:
    """Extras named for tests, or holding test tooling: `pip install -e .[those]`."""
    return sorted(k for k, deps in extras.items() if k in _TEST_EXTRAS or deps & _TOOLS)


def _requirement_files(tree: Tree, root: str) -> list[str]:
    prefix = "" if root == "." else root + "/"
    found = []
    for path in tree.files:
        rel = path[len(prefix) :] if path.startswith(prefix) else None
        if rel is None or not is_requirements(rel) or "doc" in rel.lower():
            continue
        if "/" not in rel or rel.startswith("requirements/"):
            found.append(rel)
    return sorted(found)


def _requirement_names(text: str) -> set[str]:
    lines = (line.split("#", 1)[0] for line in text.splitlines())
    return _names(line for line in lines if line.strip() and not line.lstrip().startswith("-"))


def _declared(tree: Tree, root: str, pyproject: Mapping[str, Any], extras: list[str]) -> set[str]:
    """Everything the chosen install would bring: deps, test extras, dev groups, requirements."""
    names = _names(_table(pyproject, "project").get("dependencies", []))
    all_extras = _extras(pyproject)
    for extra in extras:
        names |= all_extras.get(extra, set())
    for group in _table(pyproject, "dependency-groups").values():
        names |= _names(group if isinstance(group, list) else [])
    names |= _names(_table(pyproject, "tool", "uv").get("dev-dependencies", []))
    for key, section in _table(pyproject, "tool", "poetry").items():
        if key.endswith("dependencies") and isinstance(section, dict):
            names |= _names(section)
    for group in _table(pyproject, "tool", "poetry", "group").values():
        names |= _names(_table(group, "dependencies") if isinstance(group, dict) else {})
    for rel in _requirement_files(tree, root):
        names |= _requirement_names(tree.text(join(root, rel)))
    setup_cfg = tree.text(join(root, "setup.cfg")) + tree.text(join(root, "tox.ini"))
    names |= {t for t in _TOOLS if re.search(rf"(^|[\s=,]){t}\b", setup_cfg, re.M)}
    return names


def _packages(tree: Tree, root: str) -> list[str]:
    """Top-level import packages (src layout first): what coverage should measure."""
    for layout in ("src/", ""):
        depth = layout.count("/") + 2
        found = {
            parts[-2]
            for rel in tree.under(root)
            if rel.startswith(layout)
            and rel.endswith("/__init__.py")
            and len(parts := rel.split("/")) == depth
            and parts[-2] not in _NOT_PACKAGES
            and parts[-2].isidentifier()
        }
        if found:
            return sorted(found)
    return []


def _installable(tree: Tree, root: str, pyproject: Mapping[str, Any]) -> bool:
    if "project" in pyproject or tree.has(join(root, "setup.py")):
        return True
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(tree.text(join(root, "setup.cfg")))
    except configparser.Error:
        return False
    return parser.has_section("metadata")


def _manager(tree: Tree, root: str, ws_root: str, pyproject: Mapping[str, Any]) -> PackageManager:
    for where in dict.fromkeys((root, ws_root)):
        if tree.has(join(where, "uv.lock")) or "uv" in _table(pyproject, "tool"):
            return PackageManager.uv
        if tree.has(join(where, "poetry.lock")) or "poetry" in _table(pyproject, "tool"):
            return PackageManager.poetry
    return PackageManager.pip


def _uv_workspaces(tree: Tree) -> dict[str, list[str]]:
    out = {}
    for path in tree.named("pyproject.toml"):
        members = _table(_toml(tree.text(path)), "tool", "uv", "workspace").get("members")
        if isinstance(members, list):
            out[parent(path)] = [str(m) for m in members]
    return out


def _roots(tree: Tree) -> list[str]:
    roots = set()
    for path in tree.named(*_DEFINING):
        roots.add(parent(path))
    for path in tree.under("."):
        name = path.rpartition("/")[2]
        if is_requirements(name) and "/requirements/" not in f"/{path}":
            roots.add(parent(path))
    return sorted(r for r in roots if not in_fixture_dir(join(r, "x")))


def detect_python(tree: Tree, out: Outputs) -> list[Project]:
    roots = _roots(tree)
    workspaces = _uv_workspaces(tree)
    projects = []
    for root in roots:
        defining = any(tree.has(join(root, name)) for name in _DEFINING)
        has_tests = any(is_python_test(p) for p in tree.under(root, frozenset(roots)))
        python = any(p.endswith(".py") for p in tree.under(root, frozenset(roots)))
        if not defining and not has_tests and (root != "." or not python):
            continue  # a lone docs/requirements.txt is not a project
        ws_root = next((w for w, m in workspaces.items() if is_member(root, w, tuple(m))), root)
        members = [r for r in roots if is_member(r, root, tuple(workspaces.get(root, ())))]
        projects.append(_project(tree, root, ws_root, members, has_tests, out))
    return projects


def _project(
    tree: Tree, root: str, ws_root: str, members: list[str], has_tests: bool, out: Outputs
) -> Project:
    pyproject = _toml(tree.text(join(root, "pyproject.toml")))
    extras = _test_extras(_extras(pyproject))
    declared = _declared(tree, root, pyproject, extras)
    if ws_root != root:  # a workspace member gets the root's dev tools too
        root_pyproject = _toml(tree.text(join(ws_root, "pyproject.toml")))
        declared |= _declared(tree, ws_root, root_pyproject, _test_extras(_extras(root_pyproject)))
    pm = _manager(tree, root, ws_root, pyproject)
    py: Argv = {
        PackageManager.uv: ("uv", "run", "--no-sync", "python"),
        PackageManager.poetry: ("poetry", "run", "python"),
    }.get(pm, ("python",))
    install: list[Argv] = []
    if pm is PackageManager.uv:
        install.append(("uv", "sync", "--all-extras"))
    elif pm is PackageManager.poetry:
        install.append(("poetry", "install", "--all-extras"))
    elif _installable(tree, root, pyproject):
        target = f".[{','.join(extras)}]" if extras else "."
        install.append(("python", "-m", "pip", "install", "-e", target))
    requirements = _requirement_files(tree, root)
    if requirements and pm is PackageManager.pip:
        flags = (a for r in requirements for a in ("-r", r))
        install.append(("python", "-m", "pip", "install", *flags))
    with_cov = "pytest-cov" in declared
    needed = ("pytest",) if with_cov else ("pytest", "coverage")
    tools = [t for t in needed if t not in declared]
    if tools:
        pip = ("uv", "pip", "install") if pm is PackageManager.uv else (*py, "-m", "pip", "install")
        install.append((*pip, *tools))
    # a workspace root's tests exercise its members' code as well
    packages = sorted({p for r in (root, *members) for p in _packages(tree, r)})
    junit = out.absolute(root, "junit.xml")
    cov_json = out.absolute(root, "coverage.json")
    # xunit1: each testcase carries its file and line
    pytest_args: Argv = ("-p", "no:cacheprovider", "--color=no", "-o", "junit_family=xunit1")
    pytest_args += (f"--junitxml={junit}",)
    report: tuple[Argv, ...] = ()
    test: Argv
    if with_cov:
        cov = tuple(f"--cov={p}" for p in packages) or ("--cov",)
        test = (*py, "-m", "pytest", *pytest_args, *cov, f"--cov-report=json:{cov_json}")
    else:
        source = (f"--source={','.join(packages)}",) if packages else ()
        test = (*py, "-m", "coverage", "run", *source, "-m", "pytest", *pytest_args)
        report = ((*py, "-m", "coverage", "json", "-o", cov_json),)
    return Project(
        root=root,
        kind=Kind.python,
        language=Language.python,
        package_manager=pm,
        framework=Framework.pytest,
        install=tuple(install),
        test=test,
        has_tests=has_tests,
        results_format=ResultsFormat.junit_xml,
        coverage_format=CoverageFormat.coverage_py_json,
        results_glob=out.relative(root, "junit.xml"),
        coverage_path=out.relative(root, "coverage.json"),
        report=report,
        install_root=ws_root,
        # the coverage data file goes with the reports, not into the project's tree
        env=(("COVERAGE_FILE", out.absolute(root, ".coverage")),),
    )

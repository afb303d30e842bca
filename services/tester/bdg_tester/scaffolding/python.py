"""pytest scaffolding: one tests/test_<module>.py per module, one smoke test per public function.

Public functions are found with `ast` (no import, so nothing of the project runs here): the
top-level `def`s not starting with `_`, restricted to `__all__` when a module lists it.
"""

from __future__ import annotations

import ast
import configparser
import tomllib
from dataclasses import dataclass

from bdg_tester.detection.tree import Tree, join

_NOT_MODULES = frozenset(
    {"setup.py", "conftest.py", "noxfile.py", "fabfile.py", "tasks.py", "manage.py", "__main__.py"}
)
_NOT_DIRS = frozenset({"tests", "test", "docs", "doc", "examples", "scripts", "benchmarks"})


@dataclass(frozen=True)
class Module:
    name: str  # dotted import name
    functions: tuple[str, ...]


def _import_name(rel: str, src_layout: bool) -> str | None:
    parts = rel.removesuffix(".py").split("/")[1 if src_layout else 0 :]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or any(not p.isidentifier() or p.startswith("_") for p in parts):
        return None
    return ".".join(parts)


def _public_functions(source: str) -> tuple[str, ...] | None:
    """None when the module does not parse (left out rather than guessed at) or calls something
    at import time (a script: importing it in a test would run it)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    if any(isinstance(n, ast.Expr) and isinstance(n.value, ast.Call) for n in tree.body):
        return None
    defs = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and not node.name.startswith("_")
    ]
    listed = _dunder_all(tree)
    return tuple(d for d in defs if d in listed) if listed is not None else tuple(defs)


def _dunder_all(tree: ast.Module) -> set[str] | None:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                return None
            return {str(v) for v in value} if isinstance(value, list | tuple) else None
    return None


def find_modules(tree: Tree, root: str) -> tuple[list[Module], bool]:
    """The project's importable modules with their public functions; and whether it uses a
    src layout."""
    paths = [p for p in tree.under(root) if p.endswith(".py")]
    src_layout = any(p.startswith("src/") and p.count("/") >= 2 for p in paths)
    modules = []
    for rel in paths:
        dirs = rel.split("/")[:-1]
        if src_layout and not rel.startswith("src/"):
            continue
        if any(d in _NOT_DIRS for d in dirs) or rel.rpartition("/")[2] in _NOT_MODULES:
            continue
        if rel.rpartition("/")[2].startswith("test_") or rel.endswith("_test.py"):
            continue
        packages = ["/".join(dirs[: i + 1]) for i in range(1 if src_layout else 0, len(dirs))]
        if any(not tree.has(join(root, f"{d}/__init__.py")) for d in packages):
            continue  # a directory that is not a package: scripts, not importable code
        name = _import_name(rel, src_layout)
        functions = _public_functions(tree.text(join(root, rel)))
        if name and functions is not None:
            modules.append(Module(name, functions))
    # modules without functions (re-exports, constants) only when nothing else is testable:
    # then each top-level package gets a test that it imports
    with_functions = [m for m in modules if m.functions]
    chosen = with_functions or [m for m in modules if "." not in m.name]
    return sorted(chosen, key=lambda m: m.name), src_layout


def smoke_test_module(module: Module) -> str:
    if not module.functions:
        return (
            f'"""Smoke test for {module.name}: it imports. Generated as a starting point;\n'
            'replace it with tests of real behaviour."""\n\n'
            "import importlib\n\n\n"
            f"def test_{module.name.replace('.', '_')}_imports() -> None:\n"
            f'    assert importlib.import_module("{module.name}")\n'
        )
    names = ", ".join(module.functions)
    tests = "".join(
        f"\n\ndef test_{f}_is_callable() -> None:\n    assert callable({f})\n"
        for f in module.functions
    )
    return (
        f'"""Smoke tests for {module.name}: each public function imports and is callable.\n\n'
        "Generated as a starting point; replace them with tests of real behaviour.\n"
        '"""\n\n'
        f"from {module.name} import {names}\n{tests}"
    )


def has_pytest_config(tree: Tree, root: str) -> bool:
    if tree.has(join(root, "pytest.ini")):
        return True
    try:
        pyproject = tomllib.loads(tree.text(join(root, "pyproject.toml")))
    except tomllib.TOMLDecodeError:
        return True  # unreadable: leave it alone
    if "pytest" in pyproject.get("tool", {}):
        return True
    for name, section in (("setup.cfg", "tool:pytest"), ("tox.ini", "pytest")):
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(tree.text(join(root, name)))
        except configparser.Error:
            continue
        if parser.has_section(section):
            return True
    return False


def src_pythonpath(tree: Tree, root: str) -> tuple[str, str, str] | None:
    """(path, new content, edit) making src/ importable to pytest, when nothing configures
    pytest yet; with a pytest configuration the project is expected to be installed."""
    if has_pytest_config(tree, root):
        return None
    pyproject = join(root, "pyproject.toml")
    if tree.has(pyproject):
        text = tree.text(pyproject)
        added = text.rstrip("\n") + '\n\n[tool.pytest.ini_options]\npythonpath = ["src"]\n'
        try:
            tomllib.loads(added)
        except tomllib.TOMLDecodeError:
            return None
        return pyproject, added, "pyproject.toml: [tool.pytest.ini_options] pythonpath = ['src']"
    return join(root, "pytest.ini"), "[pytest]\npythonpath = src\n", "pytest.ini: pythonpath = src"

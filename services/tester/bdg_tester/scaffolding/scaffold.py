"""Test scaffolding for a project without tests: runnable smoke tests the model then improves.

Returns the files to write (new tests, and manifests with their edits applied) and what was
done; nothing is written here. `scaffold_directory` builds the file mapping from a checkout.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bdg_tester.detection.projects import Framework, Kind, Project
from bdg_tester.detection.tree import Tree, is_manifest, join, read_tree
from bdg_tester.scaffolding.node import (
    candidates,
    choose_framework,
    dump_package_json,
    merge_patch,
    package_patch,
    read_exports,
    smoke_test,
    smoke_test_path,
)
from bdg_tester.scaffolding.python import find_modules, smoke_test_module, src_pythonpath


class ScaffoldError(ValueError):
    """No template fits the project."""


@dataclass(frozen=True)
class Scaffold:
    framework: Framework
    files: Mapping[str, str]  # workspace-relative path -> full content to write
    edits: tuple[str, ...]  # one line per file created or changed
    package_json_patch: Mapping[str, Any] = field(default_factory=dict)  # RFC 7386, node only


def scaffold_tests(project: Project, files: Mapping[str, str]) -> Scaffold:
    tree = Tree(files)
    if project.kind is Kind.python:
        return _python(tree, project.root)
    if project.kind is Kind.node:
        return _node(tree, project.root)
    raise ScaffoldError(f"no test template for {project.kind.value} projects")


def scaffold_directory(project: Project, checkout: Path) -> Scaffold:
    def want(path: str) -> bool:
        return is_manifest(path) or path.endswith((".py", ".js", ".jsx", ".ts", ".tsx", ".mjs"))

    return scaffold_tests(project, read_tree(checkout, want=want))


def _python(tree: Tree, root: str) -> Scaffold:
    modules, src_layout = find_modules(tree, root)
    out: dict[str, str] = {}
    edits: list[str] = []
    names = [m.name.rpartition(".")[2] for m in modules]
    for module in modules:
        short = module.name.rpartition(".")[2]
        # the last name part unless two modules share it (pkg/a/util.py, pkg/b/util.py)
        stem = short if names.count(short) == 1 else module.name.replace(".", "_")
        path = join(root, f"tests/test_{stem}.py")
        if tree.has(path) or path in out:
            continue
        out[path] = smoke_test_module(module)
        count = len(module.functions)
        edits.append(f"created {path}: {count or 'an import'} smoke test{'s' if count > 1 else ''}")
    if not out:
        raise ScaffoldError("no importable Python module found to test")
    if src_layout:
        change = src_pythonpath(tree, root)
        if change is not None:
            path, content, edit = change
            out[path] = content
            edits.append(edit)
    return Scaffold(Framework.pytest, out, tuple(edits))


def _node(tree: Tree, root: str) -> Scaffold:
    manifest = join(root, "package.json")
    try:
        pkg = json.loads(tree.text(manifest))
    except ValueError as e:
        raise ScaffoldError(f"{manifest} is not valid JSON") from e
    if not isinstance(pkg, dict):
        raise ScaffoldError(f"{manifest} is not a JSON object")
    modules = candidates(tree, root, pkg)
    if not modules:
        raise ScaffoldError("no JavaScript/TypeScript module with exports found to test")
    framework = choose_framework(tree, root, pkg, modules)
    out: dict[str, str] = {}
    edits: list[str] = []
    for module in modules:
        exports = read_exports(tree.text(join(root, module)))
        esm = exports.esm or pkg.get("type") == "module"
        path = join(root, smoke_test_path(module))
        if tree.has(path):
            continue
        out[path] = smoke_test(module, exports, framework, esm)
        edits.append(f"created {path}: {len(exports.functions) + len(exports.values)} smoke tests")
    typescript = any(m.endswith((".ts", ".tsx", ".mts", ".cts")) for m in modules)
    babel = any(
        tree.has(join(root, n)) for n in (".babelrc", "babel.config.js", "babel.config.cjs")
    )
    patch = package_patch(pkg, framework, typescript, babel)
    if patch:
        out[manifest] = dump_package_json(tree.text(manifest), merge_patch(pkg, patch))
        for key, value in patch.get("devDependencies", {}).items():
            edits.append(f"package.json: devDependencies {key} {value}")
        if "scripts" in patch:
            edits.append(f"package.json: scripts.test = {patch['scripts']['test']!r}")
    if "ts-jest" in patch.get("devDependencies", {}) and not _has_jest_config(tree, root, pkg):
        name = "jest.config.cjs" if pkg.get("type") == "module" else "jest.config.js"
        out[join(root, name)] = "module.exports = { preset: 'ts-jest', testEnvironment: 'node' };\n"
        edits.append(f"created {join(root, name)}: ts-jest preset")
    return Scaffold(framework, out, tuple(edits), patch)


def _has_jest_config(tree: Tree, root: str, pkg: Mapping[str, Any]) -> bool:
    names = ("jest.config.js", "jest.config.cjs", "jest.config.mjs", "jest.config.ts")
    return "jest" in pkg or any(tree.has(join(root, n)) for n in names)

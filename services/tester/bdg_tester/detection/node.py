"""Node projects: their package.json files, workspaces, package manager and install command.

How each project's tests are run (framework, runner command, report paths) is `node_commands`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bdg_tester.detection.node_commands import framework_of, script_words, test_commands
from bdg_tester.detection.projects import (
    Argv,
    Framework,
    Kind,
    Language,
    Outputs,
    PackageManager,
    Project,
)
from bdg_tester.detection.tree import Tree, in_fixture_dir, is_js_test, is_member, join, parent


@dataclass(frozen=True)
class _Package:
    root: str
    data: Mapping[str, Any]

    @property
    def deps(self) -> frozenset[str]:
        names: set[str] = set()
        for key in ("dependencies", "devDependencies"):
            section = self.data.get(key)
            if isinstance(section, dict):
                names.update(str(k) for k in section)
        return frozenset(names)

    @property
    def test_script(self) -> str:
        scripts = self.data.get("scripts")
        script = scripts.get("test", "") if isinstance(scripts, dict) else ""
        return script.strip() if isinstance(script, str) else ""

    @property
    def workspace_patterns(self) -> tuple[str, ...]:
        ws = self.data.get("workspaces")
        if isinstance(ws, dict):  # yarn classic: {"packages": [...], "nohoist": [...]}
            ws = ws.get("packages")
        return tuple(str(p) for p in ws) if isinstance(ws, list) else ()


def _load(tree: Tree, path: str) -> Mapping[str, Any] | None:
    try:
        data = json.loads(tree.text(path))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _pnpm_patterns(text: str) -> tuple[str, ...]:
    """The `packages:` list of pnpm-workspace.yaml (a flat list; no YAML library needed)."""
    out: list[str] = []
    inside = False
    for line in text.splitlines():
        if re.match(r"^packages\s*:", line):
            inside = True
            continue
        item = re.match(r"^\s+-\s*['\"]?([^'\"#]+?)['\"]?\s*(#.*)?$", line)
        if inside and item:
            out.append(item.group(1))
        elif inside and line.strip() and not line.startswith((" ", "\t", "#")):
            break
    return tuple(out)


def _ancestors(root: str) -> list[str]:
    """root, its parent, ..., '.'"""
    out = [root]
    while out[-1] != ".":
        out.append(parent(out[-1]))
    return out


def _package_manager(tree: Tree, pkgs: list[_Package], install_root: str) -> PackageManager:
    for pkg in pkgs:  # the packageManager field ("pnpm@9.1.0") is the project's own word
        field = pkg.data.get("packageManager")
        if isinstance(field, str):
            name = field.partition("@")[0]
            if name in ("npm", "pnpm", "yarn"):
                return PackageManager(name)
    for where in _ancestors(install_root):
        if tree.has(join(where, "pnpm-lock.yaml")) or tree.has(join(where, "pnpm-workspace.yaml")):
            return PackageManager.pnpm
        if tree.has(join(where, "yarn.lock")):
            return PackageManager.yarn
        if tree.has(join(where, "package-lock.json")) or tree.has(
            join(where, "npm-shrinkwrap.json")
        ):
            return PackageManager.npm
    return PackageManager.npm


def _install(tree: Tree, pm: PackageManager, where: str, pkgs: list[_Package]) -> Argv:
    def locked(*names: str) -> bool:
        return any(tree.has(join(w, n)) for w in _ancestors(where) for n in names)

    if pm is PackageManager.pnpm:
        frozen = ("--frozen-lockfile",) if locked("pnpm-lock.yaml") else ()
        return ("pnpm", "install", *frozen)
    if pm is PackageManager.yarn:
        field = next((str(p.data.get("packageManager", "")) for p in pkgs), "")
        berry = tree.has(join(where, ".yarnrc.yml")) or bool(re.match(r"yarn@[2-9]", field))
        if not locked("yarn.lock"):
            return ("yarn", "install")
        return ("yarn", "install", "--immutable" if berry else "--frozen-lockfile")
    verb = "ci" if locked("package-lock.json", "npm-shrinkwrap.json") else "install"
    return ("npm", verb, "--no-audit", "--no-fund")


def _has_source(tree: Tree, root: str, roots: frozenset[str]) -> bool:
    return any(
        re.search(r"\.(?:[cm]?[jt]s|[jt]sx|vue|svelte)$", p) for p in tree.under(root, roots)
    )


def detect_node(tree: Tree, out: Outputs) -> list[Project]:
    paths = [p for p in tree.named("package.json") if not in_fixture_dir(p)]
    pkgs: dict[str, _Package] = {}
    for path in paths:
        data = _load(tree, path)
        if data is not None:
            pkgs[parent(path)] = _Package(parent(path), data)
    workspaces = {
        root: pkg.workspace_patterns or _pnpm_patterns(tree.text(join(root, "pnpm-workspace.yaml")))
        for root, pkg in pkgs.items()
    }
    workspaces = {root: pats for root, pats in workspaces.items() if pats}
    roots = frozenset(pkgs)
    projects: list[Project] = []
    for root, pkg in sorted(pkgs.items()):
        ws_root = next((w for w, p in workspaces.items() if is_member(root, w, p)), root)
        chain = [pkg] + ([pkgs[ws_root]] if ws_root != root else [])
        pm = _package_manager(tree, chain, ws_root)
        words, env = script_words(pkg.test_script)
        framework = framework_of(pkg.deps, pkg.test_script, words)
        mocha = framework in (Framework.mocha, Framework.node_test)  # both default to test/**
        has_tests = any(is_js_test(p, mocha=mocha) for p in tree.under(root, roots))
        if root in workspaces and not has_tests:
            # a workspace root whose tests are its members': its script only delegates to them
            continue
        if framework is Framework.none and not has_tests and not _has_source(tree, root, roots):
            continue  # a package.json for tooling only (prettier, husky) in another kind of repo
        test, (results, results_path), (coverage, coverage_path) = test_commands(
            root, pkg.deps, framework, words, pm, out
        )
        deps = pkg.deps | (pkgs[ws_root].deps if ws_root != root else frozenset())
        ts = "typescript" in deps or tree.has(join(root, "tsconfig.json"))
        projects.append(
            Project(
                root=root,
                kind=Kind.node,
                language=Language.typescript if ts else Language.javascript,
                package_manager=pm,
                framework=framework,
                install=(_install(tree, pm, ws_root, chain),),
                test=test,
                has_tests=has_tests,
                results_format=results,
                coverage_format=coverage,
                results_glob=results_path,
                coverage_path=coverage_path,
                install_root=ws_root,
                env=(("CI", "true"), *env),  # CI=true: no watch mode, no interactive prompts
            )
        )
    return projects

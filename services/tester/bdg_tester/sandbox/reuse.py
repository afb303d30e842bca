"""The fail-to-pass check's base run reuses what the change's run installed.

The base workspace differs from the change's only in the change's files that are not tests
(and the tests the tester scaffolded, which the base does not get). When none of them is a
dependency manifest, lockfile or package-manager setting, installing the base would install the
same packages again: ~12 s of a 13 s check on a small Python project (pip; npm alike). So the
base gets a copy of the directories the change's install filled (sandboxd's ``ws.copy``: the
venv, ``node_modules``), with the same limits and no network as any run, instead of a second
install. The venv's paths stay right: both workspaces are mounted at /workspace, and editable
installs point there, so the base's tests import the base's code.

Installs whose result is not only in such directories (Go, Cargo, Maven, Gradle, Make, Yarn
Plug'n'Play), or that run the project's own code (npm lifecycle scripts, a requirements line
installing the project itself without ``-e``), install as before; so does everything when
sandboxd cannot copy (one that predates ``ws.copy``, the quota).
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass

from bdg_contracts.source_kinds import is_test_path
from bdg_sandbox.client import SandboxClient, SandboxRequestError
from bdg_tester.analysis.exercised import changed_paths
from bdg_tester.detection.projects import Argv, Kind, PackageManager, Project
from bdg_tester.detection.tree import is_manifest, is_requirements, join
from bdg_tester.sandbox.env import VENV, install_commands, needs_venv

# Files that decide what an install brings, besides the manifests detection reads.
DEPENDENCY_FILES = frozenset(
    {
        "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "uv.lock",
        "poetry.lock", "Pipfile", "Pipfile.lock", ".npmrc", ".yarnrc", ".yarnrc.yml",
        ".pnpmfile.cjs", "constraints.txt", "pip.conf", "uv.toml", "poetry.toml",
        ".python-version", ".nvmrc", ".node-version",
    }
)  # fmt: skip
# npm runs these of the project itself at install: their output may come from the change's code.
LIFECYCLE = ("preinstall", "install", "postinstall", "prepare", "prepublish")
NODE_CACHES = (".vite", ".cache")  # runners' caches in node_modules: the base starts without
_NODE_MODULES = (PackageManager.npm, PackageManager.pnpm, PackageManager.yarn)


@dataclass(frozen=True)
class Installed:
    """What the change's workspace installed, once its tests passed there."""

    workspace: str
    projects: tuple[Project, ...]
    written: tuple[str, ...] = ()  # files the tester wrote there (scaffolded tests)


def is_dependency_file(path: str) -> bool:
    name = posixpath.basename(path)
    return is_manifest(path) or name in DEPENDENCY_FILES or "/.yarn/" in f"/{path}"


def differing(patches: Iterable[str], written: Iterable[str]) -> list[str]:
    """Files that differ between the base workspace and the change's: the change's non-test
    files (the base has its test files) and what the tester wrote (the base has none of it)."""
    return sorted({p for p in changed_paths(patches) if not is_test_path(p)} | set(written))


def install_key(project: Project) -> tuple[str, tuple[Argv, ...]]:
    return project.install_root, install_commands(project)


def reusable_dirs(
    base: Sequence[Project], installed: Installed, changed: Sequence[str], tree: Mapping[str, str]
) -> tuple[str, ...] | str:
    """The directories to copy from the change's workspace instead of installing ``base`` (the
    base workspace's projects; ``tree`` its files, manifests read); a str says why not."""
    touched = [p for p in changed if is_dependency_file(p)]
    if touched:
        return f"the change touches {', '.join(touched[:3])}"
    done = {install_key(p) for p in installed.projects}
    dirs = [VENV] if needs_venv(base) else []
    for project in base:
        if install_key(project) not in done:
            return f"{project.root} was not installed so in the change's workspace"
        found = _dirs_of(project, tree)
        if isinstance(found, str):
            return f"{project.root}: {found}"
        dirs += found
    return tuple(dict.fromkeys(dirs))


def _dirs_of(project: Project, tree: Mapping[str, str]) -> tuple[str, ...] | str:
    if not project.install:
        return ()
    if project.kind is Kind.python:
        return _python_dirs(project, tree)
    if project.kind is Kind.node and project.package_manager in _NODE_MODULES:
        return _node_dirs(project, tree)
    return f"a {project.package_manager.value} install is not copied"


def _python_dirs(project: Project, tree: Mapping[str, str]) -> tuple[str, ...] | str:
    if project.package_manager in (PackageManager.uv, PackageManager.poetry):
        return (join(project.install_root, ".venv"),)  # in the project (POETRY_..._IN_PROJECT)
    for path, text in tree.items():
        named = is_requirements(posixpath.basename(path)) or is_requirements(path)
        if named and _installs_itself(text):
            return f"{path} installs a local path without -e (a copy of the change's code)"
    return ()  # the venv holds it all


def _installs_itself(requirements: str) -> bool:
    """A line naming a local path without ``-e``: pip copies that code into the venv."""
    specs = (line.split(" #", 1)[0].strip() for line in requirements.splitlines())
    return any(spec.startswith((".", "/", "file:")) for spec in specs)


def _node_dirs(project: Project, tree: Mapping[str, str]) -> tuple[str, ...] | str:
    if project.package_manager is PackageManager.yarn and any(
        "--immutable" in argv for argv in project.install
    ):
        return "Yarn Berry installs Plug'n'Play files, not node_modules"
    roots = {project.install_root, project.root}
    for path, text in tree.items():
        if posixpath.basename(path) == "package.json" and "/node_modules/" not in f"/{path}":
            with suppress(ValueError, AttributeError):
                scripts = json.loads(text).get("scripts") or {}
                if any(name in scripts for name in LIFECYCLE):
                    return f"{path} has npm lifecycle scripts"
    return tuple(join(root, "node_modules") for root in sorted(roots))


async def copy_installed(
    client: SandboxClient, tenant: str, installed: Installed, workspace: str, dirs: Sequence[str]
) -> str:
    """Copy ``dirs`` from the change's workspace ("" when done, a missing one skipped); else
    why not, with what was copied removed again (the base then installs as before)."""
    copied: list[str] = []
    for path in dirs:
        try:
            await client.copy_path(tenant, workspace, installed.workspace, path)
        except SandboxRequestError as error:
            if error.code == "not_found":  # nothing was installed there
                continue
            for done in copied:
                with suppress(SandboxRequestError):
                    await client.delete_file(tenant, workspace, done)
            return f"copying {path} failed: {error}"
        copied.append(path)
        if posixpath.basename(path) == "node_modules":
            for cache in NODE_CACHES:
                with suppress(SandboxRequestError):
                    await client.delete_file(tenant, workspace, f"{path}/{cache}")
    return ""

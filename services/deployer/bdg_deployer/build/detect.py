"""Is the job's repository a site, and how is it built? Pure: paths and package.json in, a plan out.

A ``package.json`` with a ``build`` script is built with npm (install first when it has
dependencies: ``npm ci`` with a lock file), and its output is the first of ``dist/``, ``build/``,
``out/``, ``public/`` that holds an ``index.html`` afterwards (Vite, CRA, Next export, plain
copies). Without one, a folder that already holds an ``index.html`` is the site as it is. Neither:
the repository is no site (a library, a CLI), and its deploy is the branch delivery.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass

OUTPUTS = ("dist", "build", "out", "public")
STATIC = ("dist", "build", "public", "out", "_site", "site", "")
Argv = tuple[str, ...]


class BuildDetectionError(ValueError):
    """A package.json that cannot be read: a build failure that names the file."""


@dataclass(frozen=True)
class BuildPlan:
    command: str  # what the build events say built it
    outputs: tuple[str, ...]  # folders to look for index.html in, in order ("" is the top)
    install: Argv | None = None
    build: Argv | None = None


def _has_index(paths: Collection[str], folder: str) -> bool:
    return (f"{folder}/index.html" if folder else "index.html") in paths


def detect_site(paths: Collection[str], package_json: str | None) -> BuildPlan | None:
    if package_json is not None:
        try:
            package = json.loads(package_json)
            scripts = package.get("scripts") or {}
        except (ValueError, AttributeError) as error:
            raise BuildDetectionError(f"package.json: {error}") from error
        if isinstance(scripts, dict) and isinstance(scripts.get("build"), str):
            install: Argv | None = None
            if package.get("dependencies") or package.get("devDependencies"):
                install = ("npm", "ci") if "package-lock.json" in paths else ("npm", "install")
            return BuildPlan("npm run build", OUTPUTS, install, ("npm", "run", "build"))
    for folder in STATIC:
        if _has_index(paths, folder):
            return BuildPlan(f"static:{folder or '.'}", (folder,))
    return None


def output_folder(plan: BuildPlan, paths: Collection[str]) -> str | None:
    """Where the built site is, after the build."""
    return next((f for f in plan.outputs if _has_index(paths, f)), None)

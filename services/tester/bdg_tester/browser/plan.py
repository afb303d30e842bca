"""Which projects get a browser check, and how their site is built (pure).

Opt-in: with ``auto`` (the default) a Node project whose package.json has a build script and
depends on Vite or React; ``always``: any Node project with a build script; ``never``: none.
The PWA checks join when the project says it is one: vite-plugin-pwa among its dependencies,
or a web app manifest in its public folder.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from bdg_tester.detection.projects import Argv, Kind, PackageManager, Project

SITE_FOLDERS = ("dist", "build")  # Vite's build.outDir default, then Create React App's
WEB_DEPENDENCIES = frozenset({"vite", "react"})
PWA_DEPENDENCIES = frozenset({"vite-plugin-pwa"})
MANIFESTS = ("public/manifest.webmanifest", "public/manifest.json", "public/site.webmanifest")


class BrowserMode(StrEnum):
    auto = "auto"
    always = "always"
    never = "never"


@dataclass(frozen=True)
class BrowserPlan:
    build: Argv  # run with cwd = the project's root, no network
    sites: tuple[str, ...]  # where the built folder may be (relative to the workspace), in order
    pwa: bool


def _build_command(pm: PackageManager) -> Argv:
    return {
        PackageManager.pnpm: ("pnpm", "run", "build"),
        PackageManager.yarn: ("yarn", "build"),
    }.get(pm, ("npm", "run", "build"))


def _join(root: str, path: str) -> str:
    return path if root in ("", ".") else posixpath.join(root, path)


def browser_plan(
    project: Project, tree: Mapping[str, str], mode: BrowserMode
) -> BrowserPlan | None:
    """The check ``project`` gets, or None; ``tree`` holds the manifests' text."""
    if mode is BrowserMode.never or project.kind is not Kind.node:
        return None
    try:
        package = json.loads(tree.get(_join(project.root, "package.json"), "") or "{}")
    except json.JSONDecodeError:
        return None
    if not isinstance(package, dict):
        return None
    scripts = package.get("scripts")
    if not isinstance(scripts, dict) or not str(scripts.get("build") or "").strip():
        return None
    deps: set[str] = set()
    for key in ("dependencies", "devDependencies"):
        if isinstance(package.get(key), dict):
            deps |= set(package[key])
    if mode is BrowserMode.auto and not deps & WEB_DEPENDENCIES:
        return None
    pwa = bool(deps & PWA_DEPENDENCIES) or any(_join(project.root, m) in tree for m in MANIFESTS)
    sites = tuple(_join(project.root, f) for f in SITE_FOLDERS)
    return BrowserPlan(_build_command(project.package_manager), sites, pwa)

"""What builds a site: npm's build script, a static folder, or nothing (no site)."""

from __future__ import annotations

import json

import pytest

from bdg_deployer.build.detect import BuildDetectionError, detect_site, output_folder

pytestmark = pytest.mark.timeout(30)


def package(**fields: object) -> str:
    return json.dumps(fields)


def test_a_build_script_is_run_with_npm_and_installs_only_with_dependencies() -> None:
    bare = detect_site({"package.json", "build.js"}, package(scripts={"build": "node build.js"}))
    assert bare is not None
    assert (bare.install, bare.build) == (None, ("npm", "run", "build"))
    vite = package(scripts={"build": "vite build"}, devDependencies={"vite": "5.4.0"})
    assert detect_site({"package.json"}, vite).install == ("npm", "install")  # type: ignore[union-attr]
    locked = detect_site({"package.json", "package-lock.json"}, vite)
    assert locked is not None
    assert locked.install == ("npm", "ci")
    assert output_folder(locked, {"build/index.html", "dist/app.js"}) == "build"
    assert output_folder(locked, {"dist/index.html", "build/index.html"}) == "dist"
    assert output_folder(locked, {"src/index.html"}) is None


def test_a_static_folder_is_the_site_as_it_is() -> None:
    plan = detect_site({"public/index.html", "public/a.css", "README.md"}, None)
    assert plan is not None
    assert (plan.command, plan.outputs, plan.build) == ("static:public", ("public",), None)
    top = detect_site({"index.html", "style.css"}, package(name="x"))  # no build script
    assert top is not None
    assert top.command == "static:."


def test_a_library_is_no_site() -> None:
    assert detect_site({"src/lib.py", "pyproject.toml"}, None) is None
    assert detect_site({"package.json", "index.js"}, package(scripts={"test": "vitest"})) is None


def test_an_unreadable_package_json_names_the_file() -> None:
    with pytest.raises(BuildDetectionError, match=r"package\.json"):
        detect_site({"package.json"}, "{not json")

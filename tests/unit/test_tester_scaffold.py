"""Test scaffolding: pytest smoke tests that really run, and vitest/jest files plus package.json
edits for JavaScript/TypeScript projects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bdg_tester.detection.detect import Framework, Kind, Project, detect_projects
from bdg_tester.scaffolding.node import merge_patch, read_exports
from bdg_tester.scaffolding.scaffold import (
    Scaffold,
    ScaffoldError,
    scaffold_directory,
    scaffold_tests,
)

pytestmark = pytest.mark.timeout(60)

OPS = '''"""Arithmetic."""

__all__ = ["add", "mean", "hidden_from_all"]


def add(a, b):
    return a + b


async def mean(values):
    return sum(values) / len(values)


def not_listed():
    return 1


def _private():
    return 2
'''
TEXT = "def shout(s: str) -> str:\n    return s.upper()\n\n\nclass Words:\n    pass\n"
SCRIPT = "import sys\n\n\ndef run() -> None:\n    print(sys.argv)\n\n\nrun()\n"


def project(files: dict[str, str], root: str = ".") -> Project:
    return next(p for p in detect_projects(files) if p.root == root)


def scaffold(files: dict[str, str], root: str = ".") -> Scaffold:
    return scaffold_tests(project(files, root), files)


def write(base: Path, files: dict[str, str]) -> None:
    for path, content in files.items():
        target = base / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")


def run_pytest(cwd: Path) -> subprocess.CompletedProcess[str]:
    # only this tmp project's configuration: none of the suite's pytest variables
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "PYTHON"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )


# --- pytest -----------------------------------------------------------------------------------

SRC_LAYOUT = {
    "pyproject.toml": '[project]\nname = "calc"\nversion = "0.1.0"\n',
    "src/calc/__init__.py": "from calc.ops import add\n",
    "src/calc/ops.py": OPS,
    "src/calc/text.py": TEXT,
    "src/calc/_internal.py": "def helper():\n    return 0\n",
    "src/calc/broken.py": "def f(:\n",
    "scripts/release.py": "def main():\n    pass\n",
}


def test_src_layout_gets_one_file_per_module_and_a_pythonpath() -> None:
    result = scaffold(SRC_LAYOUT)
    assert result.framework is Framework.pytest
    assert sorted(result.files) == ["pyproject.toml", "tests/test_ops.py", "tests/test_text.py"]
    ops = result.files["tests/test_ops.py"]
    assert "from calc.ops import add, mean\n" in ops  # __all__ decides; private and unlisted out
    assert "def test_add_is_callable() -> None:\n    assert callable(add)\n" in ops
    assert "not_listed" not in ops
    assert "_private" not in ops
    assert "from calc.text import shout\n" in result.files["tests/test_text.py"]
    assert result.files["pyproject.toml"].endswith(
        '\n[tool.pytest.ini_options]\npythonpath = ["src"]\n'
    )
    assert result.edits == (
        "created tests/test_ops.py: 2 smoke tests",
        "created tests/test_text.py: 1 smoke test",
        "pyproject.toml: [tool.pytest.ini_options] pythonpath = ['src']",
    )
    assert result.package_json_patch == {}


def test_generated_pytest_files_run_and_pass_on_a_src_layout(tmp_path: Path) -> None:
    write(tmp_path, SRC_LAYOUT)
    result = scaffold_directory(project(SRC_LAYOUT), tmp_path)
    write(tmp_path, dict(result.files))
    run = run_pytest(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout


def test_generated_pytest_files_run_and_pass_on_a_flat_layout(tmp_path: Path) -> None:
    files = {
        "setup.py": "from setuptools import setup\nsetup(name='words')\n",
        "words/__init__.py": "",
        "words/text.py": TEXT,
        "words/nested/__init__.py": "",
        "words/nested/text.py": "def whisper(s):\n    return s.lower()\n",
        "tool.py": SCRIPT,  # calls run() on import: not something a test may import
        "notes/draft.py": "def idea():\n    pass\n",  # not a package
    }
    write(tmp_path, files)
    result = scaffold_directory(project(files), tmp_path)
    assert sorted(result.files) == [
        "tests/test_words_nested_text.py",  # two modules named text: full names tell them apart
        "tests/test_words_text.py",
    ]
    write(tmp_path, dict(result.files))
    run = run_pytest(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout


def test_a_package_without_functions_gets_an_import_test_that_passes(tmp_path: Path) -> None:
    files = {
        "pyproject.toml": '[project]\nname = "consts"\n',
        "consts/__init__.py": "PI = 3.14\n",
        "consts/units.py": "METRE = 1\n",
    }
    write(tmp_path, files)
    result = scaffold_directory(project(files), tmp_path)
    assert list(result.files) == ["tests/test_consts.py"]
    assert 'importlib.import_module("consts")' in result.files["tests/test_consts.py"]
    write(tmp_path, dict(result.files))
    run = run_pytest(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


def test_existing_pytest_configuration_is_left_alone() -> None:
    files = {**SRC_LAYOUT, "pytest.ini": "[pytest]\naddopts = -q\n"}
    result = scaffold(files)
    assert "pyproject.toml" not in result.files
    assert "pytest.ini" not in result.files


def test_a_setup_py_src_layout_gets_a_pytest_ini() -> None:
    files = {"setup.py": "", "src/pkg/__init__.py": "def f():\n    pass\n"}
    result = scaffold(files)
    assert result.files["pytest.ini"] == "[pytest]\npythonpath = src\n"


def test_existing_test_files_are_never_overwritten() -> None:
    files = {**SRC_LAYOUT, "tests/test_ops.py": "def test_mine():\n    pass\n"}
    assert "tests/test_ops.py" not in scaffold(files).files


def test_a_project_in_a_subdirectory_gets_its_tests_there() -> None:
    files = {"svc/pyproject.toml": '[project]\nname = "svc"\n', "svc/svc/__init__.py": TEXT}
    result = scaffold(files, root="svc")
    assert list(result.files) == ["svc/tests/test_svc.py"]


def test_no_importable_module_is_an_error() -> None:
    files = {"pyproject.toml": '[project]\nname = "x"\n', "run.py": SCRIPT}
    with pytest.raises(ScaffoldError, match="no importable Python module"):
        scaffold(files)


def test_no_template_for_other_kinds() -> None:
    files = {"Cargo.toml": '[package]\nname = "x"\n'}
    with pytest.raises(ScaffoldError, match="rust"):
        scaffold(files)


# --- vitest / jest ----------------------------------------------------------------------------

VITE_PACKAGE = """{
    "name": "site",
    "private": true,
    "type": "module",
    "scripts": {
        "dev": "vite",
        "build": "vite build"
    },
    "dependencies": {
        "react": "^18.3.1",
        "react-dom": "^18.3.1"
    },
    "devDependencies": {
        "@vitejs/plugin-react": "^4.3.1",
        "typescript": "^5.5.3",
        "vite": "^5.4.1"
    }
}
"""
VITE_APP = {
    "package.json": VITE_PACKAGE,
    "src/main.tsx": "import { createRoot } from 'react-dom/client';\n"
    "import App from './App';\n"
    "createRoot(document.getElementById('root')!).render(<App />);\n",
    "src/App.tsx": "import './App.css';\n\n"
    "export default function App() {\n  return <h1>Hi</h1>;\n}\n",
    "src/lib/format.ts": "export function money(n: number): string {\n  return `$${n}`;\n}\n"
    "export const CURRENCY = 'USD';\nexport type Money = number;\n",
    "src/vite-env.d.ts": "/// <reference types='vite/client' />\n",
    "vite.config.ts": "export default {};\n",
}


def test_a_vite_react_app_gets_vitest_files_and_package_json_edits() -> None:
    result = scaffold(VITE_APP)
    assert result.framework is Framework.vitest
    assert result.package_json_patch == {
        "devDependencies": {"vitest": "^3.2.4", "@vitest/coverage-v8": "^3.2.4"},
        "scripts": {"test": "vitest run"},
    }
    assert sorted(result.files) == ["package.json", "src/App.test.tsx", "src/lib/format.test.ts"]
    fmt = result.files["src/lib/format.test.ts"]
    assert "import { describe, expect, it } from 'vitest';" in fmt
    assert "import * as mod from './format';" in fmt
    assert "expect(typeof mod.money).toBe('function');" in fmt
    assert "expect(mod.CURRENCY).toBeDefined();" in fmt
    assert "Money" not in fmt  # a type has no runtime value
    assert "expect(mod.default).toBeDefined();" in result.files["src/App.test.tsx"]
    package = result.files["package.json"]
    assert package.startswith('{\n    "name": "site",')  # the file's own four-space indent
    data = json.loads(package)
    assert data["devDependencies"]["vite"] == "^5.4.1"
    assert data["scripts"] == {"dev": "vite", "build": "vite build", "test": "vitest run"}
    assert "package.json: scripts.test = 'vitest run'" in result.edits


def test_after_scaffolding_detection_finds_the_tests_and_their_runner() -> None:
    result = scaffold(VITE_APP)
    after = project({**VITE_APP, **result.files})
    assert (after.framework, after.has_tests) == (Framework.vitest, True)
    assert after.coverage_format is not None


def test_a_commonjs_package_without_tests_gets_jest() -> None:
    files = {
        "package.json": json.dumps(
            {
                "name": "cart",
                "main": "lib/cart.js",
                "scripts": {"test": 'echo "Error: no test specified" && exit 1'},
            },
            indent=2,
        ),
        "lib/cart.js": "function total(items) {\n  return 0;\n}\nconst RATE = 2;\n"
        "module.exports = { total, RATE };\n",
        "bin/cli.js": "require('../lib/cart');\nprocess.exit(0);\n",
    }
    result = scaffold(files)
    assert result.framework is Framework.jest
    assert result.package_json_patch == {
        "devDependencies": {"jest": "^29.7.0"},
        "scripts": {"test": "jest"},
    }
    test = result.files["lib/cart.test.js"]
    assert "const mod = require('./cart.js');" in test
    assert "expect(typeof mod.total).toBe('function');" in test
    assert "expect(mod.RATE).toBeDefined();" in test
    assert project({**files, **result.files}).framework is Framework.jest


def test_typescript_with_jest_gets_ts_jest_and_a_config() -> None:
    files = {
        "package.json": json.dumps({"name": "t", "devDependencies": {"jest": "^29"}}),
        "src/sum.ts": "export const sum = (a: number, b: number) => a + b;\n",
    }
    result = scaffold(files)
    assert result.framework is Framework.jest
    assert result.package_json_patch["devDependencies"] == {
        "ts-jest": "^29.2.5",
        "@types/jest": "^29.5.14",
    }
    assert result.files["jest.config.js"].startswith("module.exports = { preset: 'ts-jest'")
    assert "import * as mod from './sum';" in result.files["src/sum.test.ts"]


def test_create_react_app_keeps_react_scripts() -> None:
    files = {
        "package.json": json.dumps({"name": "cra", "dependencies": {"react-scripts": "5.0.1"}}),
        "src/util.js": "export function double(x) {\n  return x * 2;\n}\n",
    }
    result = scaffold(files)
    assert result.framework is Framework.jest
    assert result.package_json_patch == {"scripts": {"test": "react-scripts test"}}
    assert "import * as mod from './util.js';" in result.files["src/util.test.js"]


def test_nothing_with_exports_is_an_error() -> None:
    files = {"package.json": json.dumps({"name": "x"}), "index.js": "console.log('hi');\n"}
    with pytest.raises(ScaffoldError, match="no JavaScript"):
        scaffold(files)


def test_invalid_package_json_is_an_error() -> None:
    node = Project(
        root=".",
        kind=Kind.node,
        language=project(VITE_APP).language,
        package_manager=project(VITE_APP).package_manager,
        framework=Framework.none,
        install=(),
        test=(),
        has_tests=False,
        results_format=project(VITE_APP).results_format,
        coverage_format=None,
    )
    with pytest.raises(ScaffoldError, match="not valid JSON"):
        scaffold_tests(node, {"package.json": "{"})


def test_reading_exports() -> None:
    esm = read_exports(
        "export async function load() {}\nexport class Store {}\n"
        "export { a, b as c, type T };\nexport default store;\nexport interface I {}\n"
    )
    assert (esm.esm, esm.functions, esm.values) == (True, ("load",), ("Store", "a", "c", "default"))
    cjs = read_exports("exports.greet = (n) => n;\nexports.VERSION = '1';\n")
    assert (cjs.esm, cjs.functions, cjs.values) == (False, ("greet",), ("VERSION",))


def test_merge_patch_follows_rfc_7386() -> None:
    document = {"a": 1, "b": {"c": 2, "d": 3}, "e": [1]}
    patch = {"a": None, "b": {"c": 9, "x": {"y": 1}}, "e": {"k": 1}, "f": [2]}
    assert merge_patch(document, patch) == {
        "b": {"c": 9, "d": 3, "x": {"y": 1}},
        "e": {"k": 1},
        "f": [2],
    }
    assert merge_patch(document, "replaced") == "replaced"

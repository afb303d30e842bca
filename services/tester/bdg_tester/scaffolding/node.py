"""vitest / jest scaffolding: a smoke test next to each source module, checking its exports.

vitest for vite projects, ES modules and TypeScript (it runs them without configuration); jest
where the project already has it, or for CommonJS code. Exports are read with regular
expressions; modules that do something when imported (mount an app, start a server) are left
out, since a test importing them would do it too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bdg_tester.detection.node_commands import NPM_PLACEHOLDER
from bdg_tester.detection.projects import Framework
from bdg_tester.detection.tree import Tree, is_js_test, join

VERSIONS = {
    "vitest": "^3.2.4",
    "@vitest/coverage-v8": "^3.2.4",
    "jest": "^29.7.0",
    "ts-jest": "^29.2.5",
    "@types/jest": "^29.5.14",
}
MAX_MODULES = 10
_NOT_SOURCE = frozenset(
    {"bin", "scripts", "test", "tests", "__tests__", "examples", "docs", "public", "config"}
)
_SOURCE = re.compile(r"\.(?:[cm]?js|jsx|[cm]?ts|tsx)$")
_SIDE_EFFECTS = re.compile(
    r"createRoot\(|ReactDOM\.render\(|\.listen\(|\bnew Vue\(|createApp\(|process\.exit\("
    r"|^\s*main\(\)|document\.getElementById\(",
    re.M,
)
_ESM_FUNCTION = re.compile(r"^export\s+(?:async\s+)?function\*?\s+(\w+)", re.M)
_ESM_VALUE = re.compile(r"^export\s+(?:const|let|var|class|enum|abstract\s+class)\s+(\w+)", re.M)
_ESM_LIST = re.compile(r"^export\s*\{([^}]*)\}", re.M)
_ESM_DEFAULT = re.compile(r"^export\s+default\b", re.M)
_CJS_OBJECT = re.compile(r"module\.exports\s*=\s*\{([^}]*)\}", re.S)
_CJS_NAMED = re.compile(
    r"^(?:module\.)?exports\.(\w+)\s*=\s*(function\b|async\b|\([^)]*\)\s*=>)?", re.M
)
_TYPE_ONLY = re.compile(r"^export\s+(?:type|interface|declare)\b", re.M)


@dataclass(frozen=True)
class Exports:
    esm: bool
    functions: tuple[str, ...]
    values: tuple[str, ...]  # constants, classes, default: checked to be defined


def read_exports(source: str) -> Exports:
    functions = _ESM_FUNCTION.findall(source)
    values = _ESM_VALUE.findall(source)
    for group in _ESM_LIST.findall(source):
        for item in group.split(","):
            name = item.split(" as ")[-1].strip()
            if name and name.isidentifier() and not item.strip().startswith("type "):
                values.append(name)
    if _ESM_DEFAULT.search(source):
        values.append("default")
    esm = bool(functions or values or _TYPE_ONLY.search(source))
    if not esm:
        for group in _CJS_OBJECT.findall(source):
            for item in group.split(","):
                name = item.split(":")[0].strip()
                if not name.isidentifier():
                    continue
                defined = rf"function\s+{name}\s*\(|\b{name}\s*=\s*(?:async\s*)?(?:function\b|\()"
                (functions if re.search(defined, source) else values).append(name)
        for name, kind in _CJS_NAMED.findall(source):
            (functions if kind else values).append(name)
    unique_functions = tuple(dict.fromkeys(functions))
    unique_values = tuple(v for v in dict.fromkeys(values) if v not in unique_functions)
    return Exports(esm, unique_functions, unique_values)


def _deps(pkg: Mapping[str, Any]) -> set[str]:
    names: set[str] = set()
    for key in ("dependencies", "devDependencies"):
        section = pkg.get(key)
        if isinstance(section, dict):
            names |= set(section)
    return names


def candidates(tree: Tree, root: str, pkg: Mapping[str, Any]) -> list[str]:
    """Source modules worth a smoke test (relative to root): those in src/ if there is one, the
    entry point first; no tests, declaration files, scripts, or modules that run on import."""
    paths = [p for p in tree.under(root) if _SOURCE.search(p) and not is_js_test(p)]
    paths = [p for p in paths if not p.endswith(".d.ts") and "config." not in p]
    in_src = [p for p in paths if p.startswith("src/")]
    pool = in_src or [p for p in paths if p.split("/")[0] not in _NOT_SOURCE]
    main = pkg.get("main")
    if isinstance(main, str) and (entry := main.removeprefix("./")) in pool:
        pool.remove(entry)
        pool.insert(0, entry)  # the package's entry point first
    chosen = []
    for rel in pool:
        text = tree.text(join(root, rel))
        exports = read_exports(text)
        if (exports.functions or exports.values) and not _SIDE_EFFECTS.search(text):
            chosen.append(rel)
    return chosen[:MAX_MODULES]


def choose_framework(
    tree: Tree, root: str, pkg: Mapping[str, Any], modules: list[str]
) -> Framework:
    deps = _deps(pkg)
    if "vitest" in deps:
        return Framework.vitest
    if deps & {"jest", "react-scripts"}:
        return Framework.jest
    vite = "vite" in deps or any(d.startswith("@vitejs/") for d in deps)
    esm = pkg.get("type") == "module" or any(
        read_exports(tree.text(join(root, m))).esm for m in modules
    )
    typescript = any(re.search(r"\.[cm]?tsx?$", m) for m in modules)
    return Framework.vitest if vite or esm or typescript else Framework.jest


def smoke_test(module: str, exports: Exports, framework: Framework, esm: bool) -> str:
    """The test file's content; it lives next to `module` and imports it relatively."""
    stem = module.rpartition("/")[2]
    typescript = bool(re.search(r"\.[cm]?tsx?$", stem))
    spec = "./" + (re.sub(r"\.[cm]?tsx?$", "", stem) if typescript else stem)
    lines = [
        f"// Smoke tests for {stem}: its exports load. Generated as a starting point;",
        "// replace them with tests of real behaviour.",
    ]
    if framework is Framework.vitest:
        lines.append("import { describe, expect, it } from 'vitest';")
    if esm or framework is Framework.vitest or typescript:
        lines.append(f"import * as mod from '{spec}';")
    else:
        lines.append(f"const mod = require('{spec}');")
    lines += ["", f"describe('{stem}', () => {{"]
    for name in exports.functions:
        lines += [
            f"  it('exports {name} as a function', () => {{",
            f"    expect(typeof mod.{name}).toBe('function');",
            "  });",
        ]
    for name in exports.values:
        access = "mod.default" if name == "default" else f"mod.{name}"
        lines += [
            f"  it('exports {name}', () => {{",
            f"    expect({access}).toBeDefined();",
            "  });",
        ]
    lines += ["});", ""]
    return "\n".join(lines)


def smoke_test_path(module: str) -> str:
    stem, _, ext = module.rpartition(".")
    ext = {"mjs": "js", "cjs": "js", "mts": "ts", "cts": "ts"}.get(ext, ext)
    return f"{stem}.test.{ext}"


def package_patch(
    pkg: Mapping[str, Any], framework: Framework, typescript: bool, has_babel: bool
) -> dict[str, Any]:
    """A JSON merge patch (RFC 7386) for package.json: what is missing to run the tests."""
    deps = _deps(pkg)
    wanted = ["vitest", "@vitest/coverage-v8"] if framework is Framework.vitest else ["jest"]
    if framework is Framework.jest and typescript and not has_babel:
        wanted += ["ts-jest", "@types/jest"]
    if framework is Framework.jest and "react-scripts" in deps:
        wanted = []  # react-scripts brings jest and its configuration
    patch: dict[str, Any] = {}
    missing = {name: VERSIONS[name] for name in wanted if name not in deps}
    if missing:
        patch["devDependencies"] = missing
    scripts = pkg.get("scripts")
    script = scripts.get("test") if isinstance(scripts, dict) else None
    if not script or script == NPM_PLACEHOLDER:
        command = {"vitest": "vitest run", "jest": "jest"}[framework.value]
        if "react-scripts" in deps and framework is Framework.jest:
            command = "react-scripts test"
        patch["scripts"] = {"test": command}
    return patch


def merge_patch(document: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(document) if isinstance(document, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def dump_package_json(original: str, data: Mapping[str, Any]) -> str:
    """JSON in the file's own indentation, so the diff shows only the change."""
    indent_match = re.search(r"^([ \t]+)\"", original, re.M)
    indent: str | int = indent_match.group(1) if indent_match else 2
    return json.dumps(data, indent=indent, ensure_ascii=False) + "\n"

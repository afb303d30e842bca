"""The codebases bench.retrieval_quality asks questions of, and where their answers are.

Two repositories in two languages, neither written here:
- Python: the installed httpx (its version is pinned in uv.lock);
- JavaScript: axios's ``lib/`` from its npm tarball, downloaded once into a cache directory and
  checked against the registry's sha512 integrity before anything is read from it.

An answer is a file and the symbols whose lines answer the question: ``Class.method``,
``function`` or ``Class`` in Python (every def of that name, so a property's getter and setter
both count); in JavaScript also ``name`` of a ``const name = ...`` and ``name.key`` of a member
of an object literal assigned to ``name``.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import importlib.util
import io
import os
import tarfile
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import tree_sitter_javascript
from tree_sitter import Language, Node, Parser

from bdg_indexer.chunks import SourceFile

Ranges = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class NpmPackage:
    name: str
    version: str
    integrity: str  # "sha512-<base64>", as the registry's dist.integrity gives it
    root: str  # the folder inside the tarball that is indexed

    @property
    def tarball(self) -> str:
        return f"https://registry.npmjs.org/{self.name}/-/{self.name}-{self.version}.tgz"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bdg-bench"


def npm_files(package: NpmPackage) -> list[SourceFile]:
    """The ``.js`` files under ``package.root`` of the verified tarball, sorted by path."""
    path = cache_dir() / f"{package.name}-{package.version}.tgz"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(package.tarball, timeout=60) as response:
            data = response.read()
        _verify(data, package)
        path.write_bytes(data)
    data = path.read_bytes()
    _verify(data, package)  # a cached file is checked too: the cache is not trusted
    files = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            if not (member.isfile() and member.name.startswith(package.root + "/")):
                continue
            if not member.name.endswith(".js"):
                continue
            extracted = tar.extractfile(member)
            assert extracted is not None
            files.append(_source(member.name[len(package.root) + 1 :], extracted.read().decode()))
    return files


def _verify(data: bytes, package: NpmPackage) -> None:
    digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != package.integrity:
        raise RuntimeError(f"{package.tarball}: integrity {digest}, not {package.integrity}")


def python_files(package: str) -> list[SourceFile]:
    spec = importlib.util.find_spec(package)
    assert spec, f"{package} is not installed"
    assert spec.submodule_search_locations, f"{package} is not a package"
    root = Path(next(iter(spec.submodule_search_locations)))
    return [
        _source(f.relative_to(root).as_posix(), f.read_text()) for f in sorted(root.rglob("*.py"))
    ]


def _source(path: str, text: str) -> SourceFile:
    blob = hashlib.sha1(f"blob {len(text.encode())}\0".encode() + text.encode()).hexdigest()
    language = "python" if path.endswith(".py") else "javascript"
    return SourceFile(path, blob, language, text)


def symbol_ranges(source: SourceFile, symbols: Sequence[str]) -> Ranges:
    if source.language == "python":
        return _python_ranges(source.text, symbols)
    return _javascript_ranges(source.text, symbols)


def _python_ranges(text: str, symbols: Sequence[str]) -> Ranges:
    found: list[tuple[int, int]] = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if name in symbols:
                    found.append((child.lineno, child.end_lineno or child.lineno))
                walk(child, f"{name}.")

    walk(ast.parse(text), "")
    return tuple(found)


def _javascript_ranges(text: str, symbols: Sequence[str]) -> Ranges:
    parser = Parser(Language(tree_sitter_javascript.language()))
    found: list[tuple[int, int]] = []

    def lines(node: Node) -> tuple[int, int]:
        return node.start_point[0] + 1, node.end_point[0] + 1

    def name_of(node: Node) -> str | None:
        named = node.child_by_field_name("name") or node.child_by_field_name("key")
        return named.text.decode() if named is not None and named.text is not None else None

    def walk(node: Node, prefix: str) -> None:
        for child in node.named_children:
            kind, name = child.type, name_of(child)
            if kind in {"function_declaration", "class_declaration", "method_definition"} or (
                kind in {"variable_declarator", "pair"}
            ):
                if name is None:
                    walk(child, prefix)
                    continue
                full = f"{prefix}{name}"
                if full in symbols:
                    found.append(lines(child))
                walk(child, f"{full}.")
            elif kind in {"class_body", "object", "program", "export_statement"} or kind in {
                "lexical_declaration",
                "variable_declaration",
            }:
                walk(child, prefix)

    tree = parser.parse(text.encode())
    walk(tree.root_node, "")
    return tuple(found)

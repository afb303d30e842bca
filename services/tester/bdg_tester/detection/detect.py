"""Project detection: which projects a repository holds and how to install and test each.

Pure over a mapping {relative path: text} (see `bdg_tester.detection.tree`); `detect_directory`
is the thin helper that builds that mapping from a checkout.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bdg_tester.detection.build_tools import (
    detect_go,
    detect_gradle,
    detect_make,
    detect_maven,
    detect_rust,
)
from bdg_tester.detection.node import detect_node
from bdg_tester.detection.projects import (
    Argv,
    CoverageFormat,
    Framework,
    Kind,
    Language,
    Outputs,
    PackageManager,
    Project,
    ResultsFormat,
)
from bdg_tester.detection.python import detect_python
from bdg_tester.detection.tree import Tree, read_tree

__all__ = [
    "Argv",
    "CoverageFormat",
    "Framework",
    "Kind",
    "Language",
    "Outputs",
    "PackageManager",
    "Project",
    "ResultsFormat",
    "detect_directory",
    "detect_projects",
]


def detect_projects(files: Mapping[str, str], outputs: Outputs | None = None) -> list[Project]:
    """Every project in the tree, sorted by root then kind (the order is stable for replays)."""
    tree = Tree(files)
    out = outputs or Outputs()
    found = [
        *detect_node(tree, out),
        *detect_python(tree, out),
        *detect_rust(tree, out),
        *detect_go(tree, out),
        *detect_maven(tree, out),
        *detect_gradle(tree, out),
    ]
    found += detect_make(tree, out, {p.root for p in found})
    order = list(Kind)
    return sorted(found, key=lambda p: (p.root != ".", p.root, order.index(p.kind)))


def detect_directory(root: Path, outputs: Outputs | None = None) -> list[Project]:
    return detect_projects(read_tree(root), outputs)

"""The definitions a patch writes in an agent task's repository: the coder's checks of a
rewrite (dropped uses, ignored and optional parameters) are run on every reference
``solution.patch`` to prove that no right fix trips them."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bdg_coder.pipeline.rewrite import definition, symbols_of
from bdg_tools.symbols.lookup import language_of


def sources(repo: Path) -> list[str]:
    """The code files of ``repo``, relative, sorted."""
    found = (p.relative_to(repo).as_posix() for p in repo.rglob("*") if p.is_file())
    return sorted(p for p in found if language_of(p) and ".git/" not in p)


def written(repo: Path, patch: Path) -> list[tuple[str, str, str]]:
    """(path, definition before or "" for a new one, after) of each function ``patch`` adds
    or changes in ``repo``, once applied there."""
    before = {p: (repo / p).read_text() for p in sources(repo)}
    subprocess.run(["git", "-C", str(repo), "apply", str(patch)], check=True)
    found = []
    for path in sources(repo):
        now = (repo / path).read_text()
        for symbol in symbols_of(path, now):
            old = definition(path, before.get(path, ""), symbol.qualname)
            new = definition(path, now, symbol.qualname)
            if new and new != old:
                found.append((path, old, new))
    return found

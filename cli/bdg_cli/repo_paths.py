"""Which repository a command names: a clone URL, or the top of a local git work tree.

Apart from ``index`` (which registers through the event store) so that `bdg search --repo`
resolves one without importing it.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlparse

from bdg_cli.options import fail

_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_SCP = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(?!/)")  # git@host:owner/repo


def is_url(target: str) -> bool:
    return bool(_URL.match(target) or _SCP.match(target)) and not target.startswith("file:")


def work_tree(target: str) -> str:
    """The absolute top of the git work tree ``target`` (a path or file:// URL) lies in."""
    path = Path(unquote(urlparse(target).path) if target.startswith("file:") else target)
    path = path.expanduser()
    if not path.is_dir():
        fail(f"{target}: no such directory", 2)
    try:
        top = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "--show-toplevel"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    except FileNotFoundError:
        fail("git is not installed: it is needed to index a local repository", 2)
    if top.returncode != 0 or not top.stdout.strip():
        fail(f"{path.resolve()} is not a git work tree (git rev-parse found none)", 2)
    return str(Path(top.stdout.strip()).resolve())

"""The files of a delivered commit, for build detection, read without running the sandbox.

git reads the repository only through a scratch repository of the deployer's own that borrows
its objects (``alternates``), as the branch delivery does: no config or hook of the repository
takes effect.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bdg_deployer.git_refs import GitDir
from bdg_deployer.git_scratch import git, object_format, run

MAX_PACKAGE_JSON = 1 << 20


def site_tree(target: GitDir, commit: str) -> tuple[set[str], str | None]:
    """(every path in ``commit``, its top package.json or None)."""
    with tempfile.TemporaryDirectory(prefix="bdg-site-tree-") as tmp:
        scratch = Path(tmp) / "scratch.git"
        form = f"--object-format={object_format(target)}"
        git(Path(tmp), "init", "-q", "--bare", form, str(scratch))
        alternates = scratch / "objects" / "info" / "alternates"
        alternates.write_text(f"{(target.path / 'objects').resolve()}\n")
        env = {"GIT_DIR": str(scratch)}
        listed = git(scratch, "ls-tree", "-r", "-z", "--name-only", commit, env=env)
        paths = {p for p in listed.split("\0") if p}
        if "package.json" not in paths:
            return paths, None
        shown = run(scratch, "cat-file", "blob", f"{commit}:package.json", env=env)
        return paths, shown.stdout[:MAX_PACKAGE_JSON] if shown.returncode == 0 else None

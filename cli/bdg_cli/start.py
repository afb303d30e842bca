"""The `bdg` console script: keep the bytecode of what the command imports, then run it.

Compiling its ~1,000 modules from source (typer, pydantic, psycopg, nats, the workspace's
packages) is most of what `bdg` costs to start when no ``.pyc`` exists: 0.9-1.2 s against
0.3 s. Where ``PYTHONDONTWRITEBYTECODE`` is set (some machines, containers and CI set it for
every process) Python never writes one, so every start paid that again; `uv sync` compiles
nothing unless told (and told through ``[tool.uv] compile-bytecode``, every `uv run` re-checks
all of site-packages: +0.6 s CPU each run). So `bdg` itself writes the bytecode of the modules
it imports, where Python would (``__pycache__`` beside each source, or under
``PYTHONPYCACHEPREFIX``), unless ``BDG_WRITE_BYTECODE=0``. Nothing goes stale: a ``.pyc``
records its source's mtime and size, and Python compiles the source again (and here rewrites
the ``.pyc``) when they differ. A directory we may not write is skipped, as Python does.
"""

from __future__ import annotations

import os
import py_compile
import sys
from collections.abc import Mapping
from importlib.util import MAGIC_NUMBER, cache_from_source


def writes_bytecode(env: Mapping[str, str] = os.environ) -> bool:
    return env.get("BDG_WRITE_BYTECODE", "1") != "0"


def child_env(env: Mapping[str, str]) -> dict[str, str]:
    """The environment for a service `bdg` starts: bytecode kept as `bdg` keeps its own, so a
    service (re)started by `bdg up` or `bdg demo` compiles its modules once, not at each start
    (~1 s of CPU each, seven services, every restart)."""
    child = dict(env)
    if writes_bytecode(env):
        child.pop("PYTHONDONTWRITEBYTECODE", None)
    return child


def keep_bytecode() -> None:
    """Let Python write the bytecode of every module imported from now on, and write it now
    for the few the console script imported before this ran (``bdg_cli`` itself)."""
    if not writes_bytecode():
        return
    sys.dont_write_bytecode = False
    for module in list(sys.modules.values()):
        spec = getattr(module, "__spec__", None)
        if spec is None or not spec.has_location or not str(spec.origin).endswith(".py"):
            continue
        source = str(spec.origin)
        try:
            cached = cache_from_source(source)  # follows sys.pycache_prefix, as imports do
            if not is_fresh(source, cached):
                py_compile.compile(source, cfile=cached, doraise=True)
        except (OSError, ValueError, py_compile.PyCompileError):
            continue  # read-only or vanished: this module compiles at each start, as before


def is_fresh(source: str, cached: str) -> bool:
    """Whether Python would load ``cached`` for ``source`` instead of compiling it: the
    timestamp check of importlib (PEP 552 flags 0: mtime and size); hash-based ``.pyc`` files
    are checked by Python itself (or not, when the one who made them chose so)."""
    try:
        with open(cached, "rb") as pyc:
            header = pyc.read(16)
    except OSError:
        return False
    if len(header) < 16 or header[:4] != MAGIC_NUMBER:
        return False
    if int.from_bytes(header[4:8], "little") != 0:
        return True
    stat = os.stat(source)
    expected = (int(stat.st_mtime) & 0xFFFFFFFF, stat.st_size & 0xFFFFFFFF)
    return (int.from_bytes(header[8:12], "little"), int.from_bytes(header[12:16], "little")) == (
        expected
    )


def main() -> None:
    keep_bytecode()
    from bdg_cli.main import app  # after keep_bytecode: its imports are the ones to keep

    app()

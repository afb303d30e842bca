"""`bdg` keeps the bytecode of what it imports, also under ``PYTHONDONTWRITEBYTECODE=1``, and
never runs stale bytecode (``bdg_cli/start.py``).

Each run is a fresh interpreter with ``PYTHONDONTWRITEBYTECODE=1`` (as this machine sets it)
and its own empty ``PYTHONPYCACHEPREFIX``: nothing compiled to start with, nothing shared with
the checkout's ``__pycache__``. ``PYTHONVERBOSE`` makes the import system say where each
module's code came from: ``code object from '<x>.pyc'`` (the cache) or ``<x>.py`` (compiled
now). Startup time itself is measured by ``python -m bench.cli_startup``.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from bdg_cli.procs import Supervisor
from tests.conftest import Servers

pytestmark = pytest.mark.timeout(120)
BDG = str(Path(sys.executable).parent / "bdg")
# importlib quotes a .pyc's path (``{!r}``) and not a source's (``{}``).
CODE_FROM = re.compile(r"^# code object from '?(.+?)'?$", re.MULTILINE)


def no_cache_env(prefix: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": str(prefix)}
    env.pop("BDG_WRITE_BYTECODE", None)
    return env | extra


def compiled_from_source(argv: list[str], env: dict[str, str], ok: int = 0) -> list[str]:
    """The modules whose code the run compiled from source instead of loading a .pyc."""
    done = subprocess.run(
        argv, env=env | {"PYTHONVERBOSE": "1"}, capture_output=True, timeout=60, check=False
    )
    assert done.returncode == ok, done.stderr.decode()[-2000:]
    return [path for path in CODE_FROM.findall(done.stderr.decode()) if path.endswith(".py")]


def cached_files(prefix: Path) -> list[Path]:
    return [path for path in prefix.rglob("*") if path.is_file()] if prefix.exists() else []


def test_help_compiles_nothing_from_its_second_start(tmp_path: Path) -> None:
    env = no_cache_env(tmp_path / "pycache")
    first = compiled_from_source([BDG, "--help"], env)
    assert any(path.endswith("bdg_cli/main.py") for path in first)  # nothing was cached
    assert compiled_from_source([BDG, "--help"], env) == []


def test_job_list_compiles_nothing_from_its_second_start(tmp_path: Path, database_url: str) -> None:
    env = no_cache_env(tmp_path / "pycache", DATABASE_URL=database_url)
    compiled_from_source([BDG, "job", "list"], env)  # a fresh database: the store makes its log
    assert compiled_from_source([BDG, "job", "list"], env) == []


def test_search_compiles_nothing_from_its_second_start(
    tmp_path: Path, servers: Servers, namespace: str
) -> None:
    env = no_cache_env(tmp_path / "pycache", NATS_URL=servers.nats_url, BDG_NAMESPACE=namespace)
    argv = [BDG, "search", "retry a flaky call"]
    compiled_from_source(argv, env, ok=1)  # no indexer answers in the test's namespace
    assert compiled_from_source(argv, env, ok=1) == []


def test_write_bytecode_0_leaves_pythons_setting(tmp_path: Path) -> None:
    """The opt-out, and the proof that the checks above can fail: without bdg writing the
    cache, every start compiles the CLI again and nothing is written."""
    prefix = tmp_path / "pycache"
    env = no_cache_env(prefix, BDG_WRITE_BYTECODE="0")
    compiled_from_source([BDG, "--help"], env)
    again = compiled_from_source([BDG, "--help"], env)
    assert any(path.endswith("bdg_cli/main.py") for path in again)
    assert cached_files(prefix) == []


def test_a_cache_that_cannot_be_written_changes_nothing(tmp_path: Path) -> None:
    """A prefix that can never be a directory (its parent is a file: root can write anywhere
    else): `bdg` answers as before and compiles at every start."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = no_cache_env(blocker / "pycache")
    for _ in range(2):
        done = subprocess.run([BDG, "--help"], env=env, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr.decode()
        assert b"Usage: bdg" in done.stdout
    assert blocker.read_text() == ""


def test_an_edited_module_runs_its_new_code_and_is_cached_again(tmp_path: Path) -> None:
    """Python's timestamp check (mtime and size) on .pyc files, with the cache written by
    ``keep_bytecode``: both for a module imported after it ran (Python writes the .pyc) and
    one imported before it (``keep_bytecode`` writes it, as for the console script's own)."""
    code = tmp_path / "code"
    code.mkdir()
    for name in ("early", "late"):
        (code / f"{name}.py").write_text("VALUE = 1\n")
    probe = (
        "import early\nfrom bdg_cli.start import keep_bytecode\nkeep_bytecode()\n"
        "import late\nprint(early.VALUE, late.VALUE)"
    )
    env = no_cache_env(tmp_path / "pycache", PYTHONPATH=str(code))
    argv = [sys.executable, "-c", probe]

    def run() -> tuple[str, list[str]]:
        done = subprocess.run(argv, env=env, capture_output=True, timeout=60, check=True)
        out = subprocess.run(
            argv, env=env | {"PYTHONVERBOSE": "1"}, capture_output=True, timeout=60, check=True
        )
        assert out.stdout == done.stdout
        ours = [p for p in CODE_FROM.findall(out.stderr.decode()) if str(code) in p]
        return done.stdout.decode().strip(), ours  # where the 2nd run's code came from

    tag = sys.implementation.cache_tag
    cached = [f"early.{tag}.pyc", f"late.{tag}.pyc"]
    value, sources = run()
    assert value == "1 1"
    assert sorted(Path(p).name for p in sources) == cached
    for name in ("early", "late"):
        path = code / f"{name}.py"
        before = path.stat().st_mtime
        path.write_text("VALUE = 22\n")  # another size, and a later mtime
        os.utime(path, (before + 10, before + 10))
    value, sources = run()
    assert value == "22 22"
    assert sorted(Path(p).name for p in sources) == cached


@pytest.mark.parametrize(("setting", "flag"), [(None, 0), ("0", 1)])
async def test_services_bdg_starts_keep_their_bytecode(setting: str | None, flag: int) -> None:
    """`bdg up` and `bdg demo` start their services through the Supervisor: each keeps its
    bytecode as `bdg` does (or, with BDG_WRITE_BYTECODE=0, follows Python's setting)."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("BDG_WRITE_BYTECODE", None)
    if setting is not None:
        env["BDG_WRITE_BYTECODE"] = setting
    said = io.StringIO()
    report = "import sys; print('flag', sys.flags.dont_write_bytecode); sys.exit(2)"
    supervisor = Supervisor({"svc": [sys.executable, "-c", report]}, env, Console(file=said))
    assert await supervisor.run() is False  # exit 2: a configuration error, not restarted
    assert f"[svc] flag {flag}" in said.getvalue()

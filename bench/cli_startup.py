"""How long `bdg` takes to start and answer, beside a bare `python -c pass` on the same machine.

    python -m bench.cli_startup [--runs 7] [--database-url URL] [--nats-url URL]

Each command runs ``--runs`` times as its own process (the console script of this venv); the
figures are the fastest and the median wall time, and the median CPU time (user + system: on a
busy machine the wall time also counts waiting for a core). `bdg job list` and `bdg search`
connect to a fresh database on the server given (``BDG_TEST_DATABASE_URL``, default this
machine's; none: an embedded PostgreSQL) and to NATS (``BDG_TEST_NATS_URL``) in a namespace of
their own; `bdg search` answers "no indexer is running" there, after connecting, which is what
it costs to start. Three settings of Python's bytecode cache, each command with a cache of its
own under a temporary ``PYTHONPYCACHEPREFIX`` (nothing shared with the checkout's
``__pycache__``): Python writes ``.pyc`` files (a machine without ``PYTHONDONTWRITEBYTECODE``);
``PYTHONDONTWRITEBYTECODE=1`` as this machine sets it, where `bdg` writes the bytecode of what
it imports itself (``bdg_cli/start.py``); and the same with ``BDG_WRITE_BYTECODE=0``, as before
that: every module compiled at every start (the `python` rows there: Python alone). "first" is
the first start of each, with nothing cached yet.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from uuid import uuid4

from bench.fresh_postgres import fresh_database

BIN = Path(sys.executable).parent
COMMANDS: dict[str, list[str]] = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import typer'": [sys.executable, "-c", "import typer"],
    "bdg --help": [str(BIN / "bdg"), "--help"],
    "bdg job list": [str(BIN / "bdg"), "job", "list"],
    "bdg search": [str(BIN / "bdg"), "search", "retry a flaky call"],
}


def timed(argv: Sequence[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run: CPU time is what the start costs when other
    processes share the cores (wall time then includes waiting for one)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, check=False)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    expected = 1 if argv[-1] == "retry a flaky call" else 0  # search: no indexer here
    if done.returncode != expected:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()}")
    return took, cpu


def measure(
    env: dict[str, str], runs: int, cache: Path
) -> dict[str, tuple[float, float, float, float]]:
    """Per command, each with an empty cache of its own: the first start's wall time, then the
    fastest and median wall time and the median CPU time of the starts after it."""
    figures = {}
    for number, (name, argv) in enumerate(COMMANDS.items()):
        own = env | {"PYTHONPYCACHEPREFIX": str(cache / str(number))}
        first, _ = timed(argv, own)  # writes the bytecode cache (when one is written)
        times = [timed(argv, own) for _ in range(runs)]
        walls = [wall for wall, _ in times]
        cpu = statistics.median(c for _, c in times)
        figures[name] = (first, min(walls), statistics.median(walls), cpu)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database-url", default=os.environ.get("BDG_TEST_DATABASE_URL"))
    parser.add_argument(
        "--nats-url", default=os.environ.get("BDG_TEST_NATS_URL", "nats://127.0.0.1:4222")
    )
    args = parser.parse_args()
    admin = args.database_url or "postgresql://postgres@127.0.0.1:5432/postgres"
    with fresh_database(admin) as url, tempfile.TemporaryDirectory() as cache:
        base = {**os.environ, "DATABASE_URL": url, "NATS_URL": args.nats_url}
        base |= {"BDG_NAMESPACE": f"bench{uuid4().hex[:8]}", "BDG_TENANT": "bench"}
        for name in ("BDG_WRITE_BYTECODE", "PYTHONDONTWRITEBYTECODE"):
            base.pop(name, None)
        no_writes = base | {"PYTHONDONTWRITEBYTECODE": "1"}
        settings = {
            "Python writes bytecode": base,
            "PYTHONDONTWRITEBYTECODE=1, bdg writes its own": no_writes,
            "PYTHONDONTWRITEBYTECODE=1, BDG_WRITE_BYTECODE=0 (none kept)": no_writes
            | {"BDG_WRITE_BYTECODE": "0"},
        }
        print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, {args.runs} runs")
        for number, (setting, env) in enumerate(settings.items()):
            figures = measure(env, args.runs, Path(cache) / str(number))
            print(f"\n{setting}:")
            print(f"  {'':<26}   first   fastest    median  median CPU")
            for name, (first, fastest, median, cpu) in figures.items():
                print(f"  {name:<26} {first:7.3f} s {fastest:7.3f} s {median:7.3f} s {cpu:7.3f} s")
        print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

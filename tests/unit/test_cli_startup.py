"""`bdg` starts without importing what it does not use (the start took 3.5-3.9 s of imports).

Each check runs in a fresh interpreter (this one has imported everything already). The time
itself is measured by ``python -m bench.cli_startup``, not asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import typer.main
from typer.testing import CliRunner

from bdg_cli.main import app
from tests.conftest import Servers

pytestmark = pytest.mark.timeout(120)
# Each costs 0.1-0.4 s to import (pydantic model building, C extensions, FastStream).
HEAVY = ("pydantic", "psycopg", "nats", "faststream", "rich", "eventsourcing", "bdg_contracts",
         "bdg_jobs", "bdg_runtime", "bdg_llm", "bdg_tools")  # fmt: skip
# What the quick commands must not import (typer itself needs pydantic: it is allowed there).
# The settings, psutil and the embedded stack come in only when a URL is unset.
NEVER_QUICK = {"faststream", "rich", "eventsourcing", "bdg_runtime", "bdg_llm", "bdg_tools",
               "pydantic_settings", "psutil", "httpx", "uvicorn", "fastapi", "bdg_cli.context",
               "bdg_cli.jobs", "bdg_cli.render"}  # fmt: skip


def imported_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    """Top-level packages (and bdg_cli modules) imported by running ``code``."""
    return ran(code, env)[0]


def ran(code: str, env: dict[str, str] | None = None) -> tuple[set[str], str]:
    """What running ``code`` imported (as ``imported_after``), and what it printed."""
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    env = {**os.environ, "COLUMNS": "80", **(env or {})}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, env=env, check=True)
    *said, last = done.stdout.decode().splitlines()
    names: list[str] = json.loads(last)
    output = "\n".join(said) + done.stderr.decode()
    return {n if n.startswith("bdg_cli.") else n.split(".")[0] for n in names}, output


def run_cli(*args: str) -> str:
    return f"""
from bdg_cli.main import app
try:
    app({list(args)!r})
except SystemExit:
    pass
"""


def test_importing_the_cli_imports_nothing_heavy() -> None:
    assert imported_after("import bdg_cli.main") & set(HEAVY) == set()


def test_help_imports_nothing_heavy() -> None:
    assert imported_after(run_cli("--help")) & set(HEAVY) == set()


def test_a_job_command_imports_only_what_the_job_commands_need() -> None:
    loaded = imported_after(run_cli("job", "create", "--help"))
    assert "bdg_cli.jobs" in loaded
    # Other job commands' modules, the model client, the tool catalogue, FastStream: not yet.
    assert {"bdg_cli.job_replay", "bdg_cli.job_tools", "bdg_cli.job_attempts"} & loaded == set()
    assert "bdg_cli.jobs" not in imported_after(run_cli("job", "--help"))
    assert {
        "bdg_llm",
        "bdg_tools",
        "faststream",
        "bdg_sandbox",
        "uvicorn",
        "fastapi",
    } & loaded == set()


def test_every_command_in_a_list_is_one_whole_sentence() -> None:
    """A command's line in its group's list: its help's first paragraph, with none of the
    docstring's line breaks (rich kept them) and not cut to the column (click cuts at 45)."""
    root = typer.main.get_command(app)
    groups = [root, *(root.commands[n] for n in ("job", "index", "dlq", "sandbox"))]  # type: ignore[attr-defined]
    for group in groups:
        for name in group.commands:
            line = group.commands[name].get_short_help_str(limit=45)
            assert "\n" not in line, (name, line)
            assert not line.endswith(("...", "…")), (name, line)
            assert line.endswith((".", ")")), (name, line)
        result = CliRunner().invoke(app, [*([group.name] if group is not root else []), "--help"])
        assert result.exit_code == 0, result.output


def test_job_list_imports_psycopg_and_no_contracts_store_or_bus(database_url: str) -> None:
    """`bdg job list` on an up-to-date read model: psycopg and nothing of the rest (the
    projector, the event store and the contracts come in only when the log is ahead)."""
    env = {"DATABASE_URL": database_url}
    imported_after(run_cli("job", "list"), env)  # a fresh database: the store makes its log
    loaded, output = ran(run_cli("job", "list"), env)
    assert "no jobs yet" in output
    assert {"bdg_cli.job_list", "psycopg"} <= loaded
    assert loaded & (NEVER_QUICK | {"nats", "bdg_contracts", "bdg_jobs.store"}) == set()


def test_search_imports_nats_and_no_database_or_store(servers: Servers, namespace: str) -> None:
    """`bdg search` is one NATS request: no psycopg, migrations or event store (here no
    indexer answers in the test's namespace, which is what it takes to get that far)."""
    env = {"NATS_URL": servers.nats_url, "BDG_NAMESPACE": namespace}
    env |= {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}  # never reached
    loaded, output = ran(run_cli("search", "retry a flaky call"), env)
    assert "no indexer is running" in output
    assert {"bdg_cli.search", "nats", "bdg_contracts"} <= loaded
    assert loaded & (NEVER_QUICK | {"psycopg", "bdg_jobs"}) == set()

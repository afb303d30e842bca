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

pytestmark = pytest.mark.timeout(120)
# Each costs 0.1-0.4 s to import (pydantic model building, C extensions, FastStream).
HEAVY = ("pydantic", "psycopg", "nats", "faststream", "rich", "eventsourcing", "bdg_contracts",
         "bdg_jobs", "bdg_runtime", "bdg_llm", "bdg_tools")  # fmt: skip


def imported_after(code: str) -> set[str]:
    """Top-level packages (and bdg_cli modules) imported by running ``code``."""
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    env = {**os.environ, "COLUMNS": "80"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, env=env, check=True)
    names: list[str] = json.loads(done.stdout.decode().splitlines()[-1])
    return {n if n.startswith("bdg_cli.") else n.split(".")[0] for n in names}


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
    loaded = imported_after(run_cli("job", "--help"))
    assert "bdg_cli.jobs" in loaded
    # Other job commands' modules, the model client, the tool catalogue, FastStream: not yet.
    assert {"bdg_cli.job_replay", "bdg_cli.job_tools", "bdg_cli.job_attempts"} & loaded == set()
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

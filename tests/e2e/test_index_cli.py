"""`bdg index add PATH` and `bdg search` against the real indexer process (offline embeddings,
real PostgreSQL with pgvector and NATS): the CLI follows the indexer to ready, then finds a
function of the repository by what it does."""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bdg_cli.main import app
from bdg_contracts import index_events as ix
from tests.e2e.harness import Cluster

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]

FILES = {
    "src/temperature.py": (
        "def celsius_to_fahrenheit(celsius):\n"
        '    """Convert a temperature in degrees Celsius to degrees Fahrenheit."""\n'
        "    return celsius * 9 / 5 + 32\n"
    ),
    "src/greeting.py": 'def greet(name):\n    return f"Hello, {name}!"\n',
    "web/cart.js": "export function total(items) {\n"
    "  return items.reduce((sum, item) => sum + item.price, 0);\n}\n",
    "README.md": "# Tools\n\nSmall helpers for the end-to-end test of the index CLI.\n",
}


def make_repo(root: Path) -> str:
    """A work tree with one commit of ``FILES``; its commit."""
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(root)]
    for path, text in FILES.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "tools"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True)
    return head.stdout.strip()


async def bdg(cluster: Cluster, *args: str, code: int = 0) -> Result:
    env = {
        "DATABASE_URL": cluster.database_url,
        "NATS_URL": cluster.nats_url,
        "BDG_NAMESPACE": cluster.namespace,
        "BDG_TENANT": "acme",
        "BDG_USER": "alice",
        "BDG_SOURCE_GRANTS": str(cluster.grants()),
        "COLUMNS": "200",
    }
    invoke = asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)
    result = await asyncio.wait_for(invoke, 180)
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == code, f"bdg {' '.join(args)} -> {result.exit_code}\n{result.output}"
    return result


async def test_index_add_follows_the_indexer_to_ready_and_search_finds_a_function(
    cluster: Cluster, tmp_path: Path
) -> None:
    source = tmp_path / "tools"
    source.mkdir()
    head = make_repo(source)
    env = {"BDG_EMBEDDINGS": "offline", "BDG_INDEX_DIR": str(tmp_path / "index")}
    cluster.start("indexer", module="bdg_indexer.main", env=env)

    added = await bdg(cluster, "index", "add", str(source))
    repo_id = ix.repo_id("acme", str(source.resolve()))
    assert added.stdout.splitlines()[0] == str(repo_id)
    assert re.search(rf"ready: 4 files, \d+ chunks at {head[:12]}", added.stdout), added.stdout

    status = await bdg(cluster, "index", "status")
    assert re.search(rf"{repo_id}\s.*ready\s.*\b4\b", status.stdout), status.stdout

    found = await bdg(cluster, "search", "convert degrees celsius into fahrenheit", "--limit", "2")
    first = found.stdout.splitlines()[0]
    assert re.match(r"src/temperature\.py:1-3  \d\.\d{3}  python", first), found.stdout
    assert "def celsius_to_fahrenheit(celsius):" in found.stdout

    scoped = await bdg(cluster, "search", "sum of the item prices", "--repo", str(source))
    assert scoped.stdout.startswith("web/cart.js:1-3"), scoped.stdout

"""The README is the user's door: keep its settings table and test command true."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI
from starlette.routing import BaseRoute, WebSocketRoute

from bdg_audit.settings import AuditSettings
from bdg_auditor.alert_mail import AlertSettings
from bdg_coder.main import CoderSettings
from bdg_indexer.settings import IndexerSettings
from bdg_llm.settings import LlmSettings
from bdg_planner.main import PlannerSettings
from bdg_runtime.answers import AnswersSettings
from bdg_runtime.settings import Settings
from bdg_sandboxd.settings import SandboxSettings
from bdg_tester.settings import TesterSettings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    names = {name.upper() for name in Settings.model_fields}
    names |= {name.upper() for name in AnswersSettings.model_fields}
    names |= {name.upper() for name in SandboxSettings.model_fields} - {"AGENT_SANDBOX_ENDPOINT"}
    names |= {name.upper() for name in LlmSettings.model_fields}
    names |= {name.upper() for name in PlannerSettings.model_fields}
    names |= {name.upper() for name in IndexerSettings.model_fields} - {"BDG_HOME"}
    names |= {name.upper() for name in TesterSettings.model_fields}
    names |= {name.upper() for name in CoderSettings.model_fields}
    names |= {name.upper() for name in AuditSettings.model_fields} - {"BDG_HOME"}
    names |= {name.upper() for name in AlertSettings.model_fields}
    missing = sorted(n for n in names if f"`{n}`" not in README)
    assert not missing, f"settings missing from README's configuration table: {missing}"


def test_ci_runs_the_readme_test_command() -> None:
    block = re.search(r"```sh\n(.*?)```", README, re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block[1].splitlines()]
    assert commands == ["uv run bdg demo", "uv run pytest -n 3"]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "uv run pytest -n 3" in ci
    assert any(line.startswith("BDG_TEST_STACK=external uv run pytest -n 3") for line in ci)


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def _gateway_routes(gateway: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every operation in the OpenAPI document, and the WebSockets."""
    routes = {
        (method.upper(), _shape(path))
        for path, operations in gateway.openapi()["paths"].items()
        for method in operations
    }
    return routes | {("WS", _shape(path)) for path in _sockets(gateway.routes)}


def _sockets(routes: list[BaseRoute]) -> set[str]:
    """WebSocket paths (not in OpenAPI), into included routers (FastAPI keeps their routes
    on ``original_router`` since 0.16x; each route's path already has its router's prefix)."""
    found = {r.path for r in routes if isinstance(r, WebSocketRoute)}
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            found |= _sockets(inner.routes)
    return found


def readme_routes(readme: str) -> set[tuple[str, str]]:
    """The routes README's tables name in their first column: `` `GET /jobs/{id}` ``; a name
    without a method takes the one before it, and one like `` `/resume` `` is a sibling of the
    route before it (`` `POST /jobs/{id}/pause`, `/resume` ``). Queries are left out."""
    found: set[tuple[str, str]] = set()
    for row in (line for line in readme.splitlines() if line.startswith("| `")):
        method, parent = "", ""
        first_cell = re.split(r"(?<!\\)\|", row)[1]  # `a\|b` inside a name is not a cell
        for name in re.findall(r"`([^`]+)`", first_cell):
            name = name.split("?")[0]
            full = re.fullmatch(r"([A-Z]+) (/\S*)", name)
            if full:
                method, path = full[1], full[2]
                parent = path.rsplit("/", 1)[0]
            elif name.startswith("/") and method:
                path = parent + name
            else:
                continue
            found.add((method, _shape(path)))
    return found


def test_every_gateway_route_is_in_the_readme(gateway: FastAPI) -> None:
    missing = _gateway_routes(gateway) - readme_routes(README)
    assert not missing, f"routes missing from README's route tables: {sorted(missing)}"
    stale = readme_routes(README) - _gateway_routes(gateway)
    assert not stale, f"README names routes the gateway does not have: {sorted(stale)}"

"""The OpenAPI document says what the gateway really answers (checked by schemathesis).

FastAPI documents a 422 as its own ``HTTPValidationError`` (``detail``: a list), but
``errors.py`` answers ``{"detail": "<field>: <why>", "errors": [...]}``; and the answers every
route shares are not declared per route: 401 (a bad token, on every route with the bearer
scheme), 404 (another tenant's or no such resource, on every route with a path parameter) and
409 (a command the job's state refuses, on every POST to a job).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

PROBLEM = "Problem"
_REF = {"$ref": f"#/components/schemas/{PROBLEM}"}


class FieldProblem(BaseModel):
    loc: list[str]
    msg: str
    type: str


class Problem(BaseModel):
    """Every 4xx: a one-line ``detail``; a 422 also lists ``errors``, one per field."""

    detail: str
    errors: list[FieldProblem] = []


def _answer(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _REF}}}


def _shared(path: str, method: str, operation: dict[str, Any]) -> dict[str, str]:
    statuses: dict[str, str] = {}
    if operation.get("security"):
        statuses["401"] = "no, a bad, or an expired token"
    if "{" in path:
        statuses["404"] = "no such resource for the caller's tenant"
    if method == "put" and path.startswith("/budgets/"):
        statuses["403"] = "setting a cap needs a tenant admin"
    if path.startswith("/deploy/credentials"):
        statuses["403"] = "deploy credentials need a tenant admin"
    if path == "/agent/audit/verify":
        statuses["404"] = "no audit file of the caller's tenant for that job"
    if method == "post" and path.startswith("/jobs/{job_id}/"):
        statuses["409"] = "the job's state does not allow it"
    return statuses


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with the shared answers declared and the 422 body as it is sent."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(problem.pop("$defs", {}))
    components[PROBLEM] = problem
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = _answer("a field is invalid; each is named in errors")
            for status, description in _shared(path, method, operation).items():
                responses.setdefault(status, _answer(description))
    return schema


def install(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(generate())
        return app.openapi_schema

    # FastAPI documents replacing app.openapi to customise the document.
    app.openapi = openapi  # type: ignore[method-assign]

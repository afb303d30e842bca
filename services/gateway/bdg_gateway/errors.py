"""Domain and validation errors as HTTP answers; every one is raised before anything is written."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import psycopg
import psycopg_pool
import pydantic
from eventsourcing import persistence
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from bdg_jobs.errors import ConcurrencyConflictError, DomainError, JobNotFoundError
from bdg_jobs.personal.consents import ConsentRequiredError
from bdg_jobs.sources import SourceError

# Connection-level failures only (the server went away), psycopg's and the event store's.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    psycopg.OperationalError,
    psycopg_pool.PoolTimeout,
    persistence.OperationalError,
    persistence.InterfaceError,
)


def _json(status: int, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": detail, **extra})


def _errors(errors: Sequence[Any]) -> tuple[str, list[dict[str, Any]]]:
    """A one-line message naming each bad field, and the errors without their inputs."""
    items = [
        {
            "loc": [str(p) for p in e.get("loc", ())],
            "msg": _message(e),
            "type": str(e.get("type", "")),
        }
        for e in errors
    ]
    message = "; ".join(f"{'.'.join(i['loc']) or 'request'}: {i['msg']}" for i in items)
    return message or "invalid request", items


def _message(error: Any) -> str:
    # FastAPI's "JSON decode error" alone does not say what was wrong (e.g. an Infinity).
    reason = (error.get("ctx") or {}).get("error") if error.get("type") == "json_invalid" else None
    message = str(error.get("msg", ""))
    return f"{message}: {reason}" if reason else message


async def _not_found(request: Request, error: Exception) -> JSONResponse:
    # Another tenant's job raises the same error with the same message: nothing leaks.
    return _json(404, str(error) or "not found")


async def _conflict(request: Request, error: Exception) -> JSONResponse:
    return _json(409, str(error) or type(error).__name__)


async def _invalid_request(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    message, items = _errors(error.errors())
    return _json(422, message, errors=items)


async def _invalid_value(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, pydantic.ValidationError)
    message, items = _errors(error.errors(include_input=False))
    return _json(422, message, errors=items)


async def _refused_source(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, SourceError)
    item = {"loc": ["body", error.field], "msg": error.message, "type": f"source.{error.rule}"}
    return _json(422, f"body.{error.field}: {error.message}", errors=[item])


async def _database_unavailable(request: Request, error: Exception) -> JSONResponse:
    # PostgreSQL restarting (the store retried for a while already): nothing was committed, and
    # the same request later will do. Not a 500: the client is told to come back.
    answer = _json(503, f"database unavailable, try again: {type(error).__name__}")
    answer.headers["Retry-After"] = "2"
    return answer


def _template(path: str) -> re.Pattern[str]:
    """A path template of the OpenAPI document as a regex (``{p:path}`` spans slashes)."""
    parts = re.split(r"(\{[^}]+\})", path)
    return re.compile(
        "".join(
            (".+" if p.endswith(":path}") else "[^/]+") if p.startswith("{") else re.escape(p)
            for p in parts
        )
        + "$"
    )


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 405:
        # Starlette names only the methods of the first route with this path; a path served
        # by several routes (GET and POST /jobs) allows every method documented for it.
        path = request.scope["path"]
        paths = request.app.openapi().get("paths", {})
        matching = {t: ops for t, ops in paths.items() if _template(t).match(path)}
        # Starlette routes a literal path (/threads/import) before a template it also fits.
        literal = {t: ops for t, ops in matching.items() if "{" not in t}
        allowed = {method.upper() for ops in (literal or matching).values() for method in ops}
        error = HTTPException(405, error.detail, headers={"Allow": ", ".join(sorted(allowed))})
    return await http_exception_handler(request, error)


async def _consent_missing(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ConsentRequiredError)
    return _json(403, str(error), purpose=error.purpose.value)


def install(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(ConsentRequiredError, _consent_missing)
    app.add_exception_handler(SourceError, _refused_source)
    for unavailable in DATABASE_UNAVAILABLE:
        app.add_exception_handler(unavailable, _database_unavailable)
    app.add_exception_handler(JobNotFoundError, _not_found)
    app.add_exception_handler(DomainError, _conflict)
    app.add_exception_handler(ConcurrencyConflictError, _conflict)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(pydantic.ValidationError, _invalid_value)

"""JSON bodies parsed strictly: the literals ``NaN``, ``Infinity`` and ``-Infinity`` refused.

Starlette parses bodies with ``json.loads``, which accepts those literals although JSON has no
such numbers; stored in an event they make its JSON unreadable to PostgreSQL's ``jsonb``. Routers
pass ``route_class=StrictJsonRoute`` (FastAPI's documented custom-request seam); the parse error
becomes the usual 422 ``json_invalid`` naming the literal.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


def _no_constant(literal: str) -> Any:
    # JSONDecodeError is what FastAPI turns into a 422; the position is not known here.
    raise json.JSONDecodeError(f"{literal} is not a JSON number", literal, 0)


def loads(body: bytes | str) -> Any:
    """``json.loads`` without the non-standard constants; bytes that are not UTF-8 are a
    decode error too (FastAPI would answer a bare 400 for them)."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise json.JSONDecodeError(f"the body is not UTF-8 ({error.reason})", "", 0) from None
    return json.loads(body, parse_constant=_no_constant)


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict

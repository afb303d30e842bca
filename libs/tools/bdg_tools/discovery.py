"""Tools across services: each service announces its tools on NATS and runs them on request;
a registry client asks who offers what and registers the answers as remote tools.

Discovery is a request with many replies: every service subscribed to
``subjects.tools_discovery()`` answers with ``ToolsAnnounced``. Calls go to
``subjects.tool_invocation(service)`` in a queue group, so one copy of the service runs each.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any
from uuid import UUID

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from pydantic import BaseModel, ValidationError

from bdg_contracts import subjects
from bdg_contracts import tool_events as tev
from bdg_tools.registry import ToolRegistry
from bdg_tools.retry import TransientToolError
from bdg_tools.schemas import validator_of
from bdg_tools.spec import ToolContext, ToolEntry, ToolFailure, as_text

log = logging.getLogger(__name__)


class ToolAnnouncer:
    """Makes a registry's available tools callable by other services."""

    def __init__(self, nc: Client, service: str, registry: ToolRegistry) -> None:
        self.nc, self.service, self.registry = nc, service, registry
        self._subs: list[Subscription] = []

    def announcement(self) -> tev.ToolsAnnounced:
        tools = tuple(e.declaration for e in self.registry.available())
        return tev.ToolsAnnounced(service=self.service, tools=tools)

    async def start(self) -> None:
        self._subs = [
            await self.nc.subscribe(subjects.tools_discovery(), cb=self._announce),
            await self.nc.subscribe(
                subjects.tool_invocation(self.service), queue=self.service, cb=self._invoke
            ),
        ]
        await self.nc.flush()

    async def stop(self) -> None:
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        self._subs = []

    async def _announce(self, msg: Msg) -> None:
        await msg.respond(self.announcement().model_dump_json().encode())

    async def _invoke(self, msg: Msg) -> None:
        await msg.respond((await self._answer(msg.data)).model_dump_json().encode())

    async def _answer(self, data: bytes) -> tev.ToolInvoked:
        try:
            request = tev.InvokeTool.model_validate_json(data)
            entry = self.registry.get(request.tool)
            if entry is None:
                missing = f"{self.service} has no tool {request.tool}"
                return tev.ToolInvoked(result=missing, is_error=True)
            arguments = entry.parse(json.loads(request.arguments_json or "{}"))
            ctx = ToolContext(
                job_id=UUID(request.job_id),
                tenant_id=request.tenant_id,
                producer=self.service,
                workspace=request.workspace,
            )
            return tev.ToolInvoked(result=as_text(await entry.executor.execute(arguments, ctx)))
        except (ValidationError, ValueError, ToolFailure) as error:
            # ArgumentsError is a ValueError: the caller validated with the same schema.
            return tev.ToolInvoked(result=f"{type(error).__name__}: {error}", is_error=True)
        except Exception as error:  # a transient failure: the caller retries
            log.warning("tool call failed in %s", self.service, exc_info=True)
            return tev.ToolInvoked(result=str(error), is_error=True, transient=True)


class RemoteTool:
    """Executor of a tool announced by another service."""

    def __init__(self, nc: Client, service: str, tool: str, timeout: float) -> None:
        self.nc, self.service, self.tool, self.timeout = nc, service, tool, timeout

    async def execute(self, arguments: Any, ctx: ToolContext) -> BaseModel | str:
        request = tev.InvokeTool(
            tool=self.tool,
            arguments_json=json.dumps(arguments),
            tenant_id=ctx.tenant_id,
            job_id=str(ctx.job_id),
            workspace=ctx.workspace,
        )
        subject = subjects.tool_invocation(self.service)
        try:
            reply = await self.nc.request(
                subject, request.model_dump_json().encode(), timeout=self.timeout
            )
        except (NoRespondersError, NatsTimeoutError) as error:
            raise TransientToolError(f"{self.service} did not answer: {error!r}") from error
        answer = tev.ToolInvoked.model_validate_json(reply.data)
        if answer.transient:
            raise TransientToolError(f"{self.service}: {answer.result}")
        if answer.is_error:
            raise ToolFailure(answer.result)
        return answer.result


async def discover(
    nc: Client, timeout: float = 1.0, expect: int | None = None
) -> list[tev.ToolsAnnounced]:
    """Every announcement that arrives within ``timeout`` seconds (or once ``expect`` did)."""
    inbox = nc.new_inbox()
    found: list[tev.ToolsAnnounced] = []
    enough = asyncio.Event()

    async def collect(msg: Msg) -> None:
        try:
            found.append(tev.ToolsAnnounced.model_validate_json(msg.data))
        except ValidationError:
            log.warning("ignoring a malformed tool announcement on %s", msg.subject)
        if expect is not None and len(found) >= expect:
            enough.set()

    sub = await nc.subscribe(inbox, cb=collect)
    try:
        request = tev.DiscoverTools().model_dump_json().encode()
        await nc.publish(subjects.tools_discovery(), request, reply=inbox)
        deadline = time.monotonic() + timeout
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(enough.wait(), max(deadline - time.monotonic(), 0))
    finally:
        await sub.unsubscribe()
    return list(found)


def remote_entries(
    nc: Client, announced: tev.ToolsAnnounced, timeout: float = 300.0
) -> list[ToolEntry]:
    entries = []
    for d in announced.tools:
        try:
            parse = validator_of(d.parameters)
        except ValueError:
            log.warning("%s announced %s with a bad schema; skipped", announced.service, d.name)
            continue
        entries.append(
            ToolEntry(
                declaration=d,
                parse=parse,
                canonical=lambda arguments: arguments,
                executor=RemoteTool(nc, announced.service, d.name, timeout),
                source=f"service:{announced.service}",
            )
        )
    return entries


async def register_discovered(
    registry: ToolRegistry, nc: Client, timeout: float = 1.0, expect: int | None = None
) -> list[str]:
    """Discover other services' tools and register those the registry does not have yet."""
    added = []
    for announced in await discover(nc, timeout, expect):
        for entry in remote_entries(nc, announced):
            if entry.name not in registry:
                registry.register(entry)
                added.append(entry.name)
    return added

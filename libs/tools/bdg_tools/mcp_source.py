"""Tools of an external MCP server (the ``mcp`` package, 2.x) as registry entries.

The server is started over stdio and stays connected while the ``McpServer`` is open; its tools
are registered as ``<server>__<tool>``, their input schemas made strict where they can be, and
every call goes to the server. External tools are gated by default: a person approves each
call unless the policy says otherwise.
"""

from __future__ import annotations

import asyncio
import re
from types import TracebackType
from typing import Any

from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel

from bdg_contracts.tool_events import ToolApproval
from bdg_tools.retry import TransientToolError
from bdg_tools.schemas import schema_entry
from bdg_tools.spec import ToolContext, ToolEntry, ToolFailure

_NAME = re.compile(r"[^A-Za-z0-9_-]")


def entry_name(server: str, tool: str) -> str:
    """OpenAI tool names allow ``[A-Za-z0-9_-]{1,64}``."""
    return _NAME.sub("_", f"{server}__{tool}")[:64]


def result_text(result: CallToolResult) -> str:
    parts = [b.text if isinstance(b, TextContent) else b.model_dump_json() for b in result.content]
    return "\n".join(parts)


class McpServer:
    """``async with McpServer("files", StdioServerParameters(...)) as server:``"""

    def __init__(
        self,
        name: str,
        params: StdioServerParameters,
        approval: ToolApproval = "gate",
        timeout: float = 60.0,
    ) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", name):
            raise ValueError(f"MCP server name {name!r} must match [A-Za-z0-9_-]{{1,32}}")
        self.name, self.params, self.approval, self.timeout = name, params, approval, timeout
        self._client: Client | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> McpServer:
        # anyio wants the client entered and exited by one task: a task holds it open.
        connected: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._stop.clear()
        self._task = asyncio.create_task(self._hold(connected), name=f"mcp:{self.name}")
        await connected
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    async def _hold(self, connected: asyncio.Future[None]) -> None:
        try:
            async with Client(self.params, read_timeout_seconds=self.timeout) as client:
                self._client = client
                connected.set_result(None)
                await self._stop.wait()
        except BaseException as error:
            if connected.done():
                raise
            connected.set_exception(error)
        finally:
            self._client = None

    @property
    def client(self) -> Client:
        if self._client is None:
            raise RuntimeError(f"MCP server {self.name} is not connected (use `async with`)")
        return self._client

    async def entries(self) -> list[ToolEntry]:
        """Every tool the server lists (all pages), as registry entries."""
        entries: list[ToolEntry] = []
        cursor: str | None = None
        while True:
            listed = await self.client.list_tools(cursor=cursor)
            for tool in listed.tools:
                entries.append(
                    schema_entry(
                        name=entry_name(self.name, tool.name),
                        description=tool.description or f"{tool.name} (MCP server {self.name})",
                        input_schema=tool.input_schema,
                        executor=_McpTool(self, tool.name),
                        approval=self.approval,
                        source=f"mcp:{self.name}",
                    )
                )
            cursor = listed.next_cursor
            if not cursor:
                return entries

    async def call(self, tool: str, arguments: dict[str, Any]) -> str:
        try:
            result = await self.client.call_tool(tool, arguments)
        except (OSError, TimeoutError) as error:
            raise TransientToolError(f"MCP server {self.name}: {error!r}") from error
        text = result_text(result)
        if result.is_error:
            raise ToolFailure(text or f"{tool} failed")
        return text


class _McpTool:
    def __init__(self, server: McpServer, tool: str) -> None:
        self.server, self.tool = server, tool

    async def execute(self, arguments: Any, ctx: ToolContext) -> BaseModel | str:
        return await self.server.call(self.tool, arguments)

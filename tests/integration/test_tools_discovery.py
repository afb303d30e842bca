"""Tools announced over a real NATS: discovery, remote calls, and code search via the indexer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from pydantic import BaseModel

from bdg_contracts import subjects
from bdg_contracts import tool_events as tev
from bdg_tools import catalog as c
from bdg_tools.discovery import RemoteTool, ToolAnnouncer, discover, register_discovered
from bdg_tools.executors import IndexSearch
from bdg_tools.registry import ToolRegistry
from bdg_tools.retry import TransientToolError
from bdg_tools.spec import ToolContext, ToolFailure
from tests.conftest import Servers

pytestmark = pytest.mark.timeout(30)


class Reader:
    """A file_read that answers from a dict, as a service's real executor would from a workspace."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files
        self.calls: list[tuple[str, str]] = []

    async def execute(self, arguments: Any, ctx: ToolContext) -> BaseModel | str:
        assert isinstance(arguments, c.FileRead)
        self.calls.append((ctx.tenant_id, arguments.path))
        if arguments.path not in self.files:
            raise ToolFailure(f"not_found: {arguments.path}")
        text = self.files[arguments.path]
        return c.FileContent(path=arguments.path, content=text, total_lines=text.count("\n"))


@pytest.fixture(name="nc")
async def nc_fixture(servers: Servers, namespace: str) -> AsyncIterator[Client]:
    nc = await nats.connect(servers.nats_url)
    yield nc
    await nc.drain()


def ctx() -> ToolContext:
    return ToolContext(uuid4(), "tenant-a", "coder")


async def test_services_announce_their_tools_and_a_registry_calls_them(nc: Client) -> None:
    reader = Reader({"README.md": "# hello\n"})
    files = ToolAnnouncer(nc, "files", ToolRegistry([c.FILE_READ.bind(reader)], env={}))
    tester = ToolAnnouncer(nc, "tester", ToolRegistry([c.RUN_TESTS.bind(reader)], env={}))
    await files.start()
    await tester.start()
    try:
        found = await discover(nc, timeout=10, expect=2)
        assert {a.service: [t.name for t in a.tools] for a in found} == {
            "files": ["file_read"],
            "tester": ["run_tests"],
        }
        registry = ToolRegistry(env={})
        added = await register_discovered(registry, nc, timeout=10, expect=2)
        assert sorted(added) == ["file_read", "run_tests"]
        entry = registry.get("file_read")
        assert entry is not None
        assert entry.source == "service:files"
        assert entry.declaration == c.FILE_READ.declaration()

        arguments = entry.parse({"path": "README.md", "start_line": None, "end_line": None})
        answer = await entry.executor.execute(arguments, ctx())
        assert json.loads(str(answer))["content"] == "# hello\n"
        assert reader.calls == [("tenant-a", "README.md")]
        with pytest.raises(ToolFailure, match=r"not_found: nope\.md"):
            await entry.executor.execute({"path": "nope.md"}, ctx())
    finally:
        await files.stop()
        await tester.stop()


async def test_discovery_with_nobody_listening_finds_nothing(nc: Client) -> None:
    assert await discover(nc, timeout=0.2) == []


async def test_a_service_gone_after_discovery_is_a_transient_failure(nc: Client) -> None:
    announcer = ToolAnnouncer(nc, "gone", ToolRegistry([c.FILE_READ.bind(Reader({}))], env={}))
    await announcer.start()
    registry = ToolRegistry(env={})
    await register_discovered(registry, nc, timeout=10, expect=1)
    await announcer.stop()
    entry = registry.get("file_read")
    assert entry is not None
    with pytest.raises(TransientToolError, match="gone did not answer"):
        await entry.executor.execute({"path": "a"}, ctx())


async def test_search_code_without_an_indexer_says_there_is_no_index(nc: Client) -> None:
    result = await IndexSearch(nc, timeout=5).execute(c.SearchCode(query="parse json"), ctx())
    assert isinstance(result, c.CodeSearch)
    assert not result.available
    assert "no index" in result.note


async def test_search_code_asks_the_indexer(nc: Client) -> None:
    asked: list[tev.SearchCode] = []

    async def indexer(msg: Msg) -> None:
        request = tev.SearchCode.model_validate_json(msg.data)
        asked.append(request)
        hit = tev.CodeHit(path="app.py", start_line=3, end_line=9, snippet="def f", score=0.9)
        await msg.respond(tev.CodeSearched(hits=(hit,)).model_dump_json().encode())

    sub = await nc.subscribe(subjects.code_search(), cb=indexer)
    try:
        search = IndexSearch(nc, repo="r1", timeout=5)
        result = await search.execute(c.SearchCode(query="parse json", limit=3), ctx())
    finally:
        await sub.unsubscribe()
    assert isinstance(result, c.CodeSearch)
    assert result.available
    assert [h.path for h in result.hits] == ["app.py"]
    assert asked == [tev.SearchCode(tenant_id="tenant-a", repo="r1", query="parse json", limit=3)]


async def test_the_announcer_answers_bad_calls_with_errors(nc: Client) -> None:
    announcer = ToolAnnouncer(nc, "files", ToolRegistry([c.FILE_READ.bind(Reader({}))], env={}))
    await announcer.start()
    try:
        unknown = RemoteTool(nc, "files", "file_delete", timeout=5)
        with pytest.raises(ToolFailure, match="files has no tool file_delete"):
            await unknown.execute({"path": "a"}, ctx())
        invalid = RemoteTool(nc, "files", "file_read", timeout=5)
        with pytest.raises(ToolFailure, match="ArgumentsError: path: required field missing"):
            await invalid.execute({}, ctx())
    finally:
        await announcer.stop()

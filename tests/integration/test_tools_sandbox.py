"""The workspace tools against a real sandboxd: files, patches, commands and tests."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest

from bdg_sandbox.client import SandboxClient
from bdg_tools import catalog as c
from bdg_tools.executors import builtin_entries, patched_paths
from bdg_tools.registry import ToolRegistry
from bdg_tools.spec import ToolContext, ToolFailure
from tests.sandbox.daemon import Daemon, start_daemon

pytestmark = pytest.mark.timeout(90)
TENANT = "tools-test"
PATCH = """\
--- a/greet.py
+++ b/greet.py
@@ -1,2 +1,2 @@
 def greet(name):
-    return "hello " + name
+    return f"hello, {name}!"
"""
PYTHON = ["env", "PYTHONPATH=.", "python3"]
TEST = """\
from greet import greet

assert greet("bob") == "hello, bob!", greet("bob")
print("1 passed")
"""


@pytest.fixture(name="daemon", scope="module")
async def daemon_fixture() -> AsyncIterator[Daemon]:
    daemon = await start_daemon()
    yield daemon
    code, output = daemon.stop(), daemon.output()
    shutil.rmtree(daemon.state.parent, ignore_errors=True)
    assert code == 0, output


@pytest.fixture(name="sandbox")
async def sandbox_fixture(daemon: Daemon) -> AsyncIterator[SandboxClient]:
    async with daemon.client() as client:
        yield client


async def run(registry: ToolRegistry, ctx: ToolContext, tool: str, **arguments: object) -> dict:
    entry = registry.get(tool)
    assert entry is not None, tool
    result = await entry.executor.execute(entry.parse(arguments), ctx)
    answer: dict = json.loads(str(result) if isinstance(result, str) else result.model_dump_json())
    return answer


async def test_the_workspace_tools_through_the_sandbox(sandbox: SandboxClient) -> None:
    ctx = ToolContext(uuid4(), TENANT, "coder")
    await sandbox.create_workspace(TENANT, ctx.workspace_id)
    registry = ToolRegistry(builtin_entries(sandbox), env={})
    assert registry.names() == [
        "file_read",
        "file_write",
        "edit_file",
        "replace_symbol",
        "apply_patch",
        "list_files",
        "run_command",
        "run_tests",
    ]  # fmt: skip  (no indexer client, no deploy provider)

    source = 'def greet(name):\n    return "hello " + name\n'
    written = await run(registry, ctx, "file_write", path="greet.py", content=source)
    assert written == {"path": "greet.py", "bytes_written": len(source), "note": ""}
    await run(registry, ctx, "file_write", path="tests/test_greet.py", content=TEST)

    read = await run(registry, ctx, "file_read", path="greet.py", start_line=2, end_line=2)
    assert read == {
        "path": "greet.py",
        "content": '    return "hello " + name\n',
        "total_lines": 2,
        "truncated": False,
    }
    listed = await run(registry, ctx, "list_files", path=None)
    paths = {e["path"] for e in listed["entries"]}
    assert {"greet.py", "tests"} <= paths

    failing = await run(registry, ctx, "run_tests", argv=PYTHON, path="tests/test_greet.py")
    assert not failing["passed"]
    assert "AssertionError: hello bob" in failing["output_tail"]

    patched = await run(registry, ctx, "apply_patch", patch=PATCH)
    assert patched == {"paths": ["greet.py"]}
    passing = await run(registry, ctx, "run_tests", argv=PYTHON, path="tests/test_greet.py")
    assert passing == {"passed": True, "exit_code": 0, "output_tail": "1 passed\n"}

    # a whole-file write of only some definitions replaces those and keeps the rest
    both = source + "\n\ndef part(name):\n    return name[:1]\n"
    kept = await run(registry, ctx, "file_write", path="greet.py", content=both)
    assert kept["note"] == ""
    only = "def part(name):\n    return name[:2]\n"
    partial = await run(registry, ctx, "file_write", path="greet.py", content=only)
    assert "replaced part, and kept greet" in partial["note"]
    now = (await sandbox.read_file(TENANT, ctx.workspace_id, "greet.py")).decode()
    assert now == both.replace("name[:1]", "name[:2]")
    # one that cannot keep them is refused, and the file stays as it was
    with pytest.raises(ToolFailure, match=r"lose greet, part, which it defines now"):
        await run(registry, ctx, "file_write", path="greet.py", content="GREETING = 'hi'\n")
    assert (await sandbox.read_file(TENANT, ctx.workspace_id, "greet.py")).decode() == now

    ran = await run(registry, ctx, "run_command", argv=["python3", "-c", "print(6 * 7)"])
    assert ran["exit_code"] == 0
    assert ran["stdout"] == "42\n"


async def test_sandbox_errors_are_tool_failures(sandbox: SandboxClient) -> None:
    ctx = ToolContext(uuid4(), TENANT, "coder")
    await sandbox.create_workspace(TENANT, ctx.workspace_id)
    registry = ToolRegistry(builtin_entries(sandbox), env={})
    with pytest.raises(ToolFailure, match="not_found"):
        await run(registry, ctx, "file_read", path="missing.py")
    with pytest.raises(ToolFailure):
        await run(registry, ctx, "apply_patch", patch=PATCH)  # no greet.py to patch


def test_patched_paths() -> None:
    assert patched_paths(PATCH) == ["greet.py"]
    new_and_gone = "--- /dev/null\n+++ b/new.txt\n@@\n--- a/old.txt\n+++ /dev/null\n"
    assert patched_paths(new_and_gone) == ["new.txt", "old.txt"]
    assert c.ApplyPatch(patch=PATCH).patch == PATCH


async def test_a_written_file_keeps_its_final_newline(sandbox: SandboxClient) -> None:
    ctx = ToolContext(uuid4(), TENANT, "coder")
    await sandbox.create_workspace(TENANT, ctx.workspace_id)
    registry = ToolRegistry(builtin_entries(sandbox), env={})

    # What small models send: the JSON string ends at the last visible character.
    await run(
        registry, ctx, "file_write", path="calc.py", content="def add(a, b):\n    return a + b"
    )
    assert await sandbox.read_file(TENANT, ctx.workspace_id, "calc.py") == (
        b"def add(a, b):\n    return a + b\n"
    )
    swapped = "def add(a, b):\n    return b + a\n"
    await run(registry, ctx, "file_write", path="calc.py", content=swapped)
    assert await sandbox.read_file(TENANT, ctx.workspace_id, "calc.py") == swapped.encode()

    # A file that had no final newline is left as it was chosen; an empty one stays empty.
    await sandbox.write_file(TENANT, ctx.workspace_id, "raw.txt", b"no newline")
    await run(registry, ctx, "file_write", path="raw.txt", content="still none")
    assert await sandbox.read_file(TENANT, ctx.workspace_id, "raw.txt") == b"still none"
    await run(registry, ctx, "file_write", path="empty.txt", content="")
    assert await sandbox.read_file(TENANT, ctx.workspace_id, "empty.txt") == b""


async def test_an_edit_lands_once_and_a_broken_one_changes_nothing(sandbox: SandboxClient) -> None:
    ctx = ToolContext(uuid4(), TENANT, "coder")
    await sandbox.create_workspace(TENANT, ctx.workspace_id)
    registry = ToolRegistry(builtin_entries(sandbox), env={})
    source = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
    await sandbox.write_file(TENANT, ctx.workspace_id, "calc.py", source.encode())

    edited = await run(
        registry, ctx, "edit_file", path="/workspace/calc.py", search="a - b", replace="a + b"
    )
    assert edited == {"path": "calc.py", "line": 2, "lines_removed": 1, "lines_added": 1}
    fixed = source.replace("a - b", "a + b").encode()
    assert await sandbox.read_file(TENANT, ctx.workspace_id, "calc.py") == fixed

    entry = registry.get("edit_file")
    assert entry is not None
    for search, replace, why in [
        ("return", "return", "occurs 2 times"),
        ("a - b", "a + b", "does not occur"),
        ("def mul(a, b):", "def mul(a, b)", "would not parse (line 5: expected ':')"),
    ]:
        arguments = entry.parse({"path": "calc.py", "search": search, "replace": replace})
        with pytest.raises(ToolFailure, match=re.escape(why)):
            await entry.executor.execute(arguments, ctx)
        assert await sandbox.read_file(TENANT, ctx.workspace_id, "calc.py") == fixed
    missing = entry.parse({"path": "nope.py", "search": "x", "replace": "y"})
    with pytest.raises(ToolFailure, match="does not exist: create it with file_write"):
        await entry.executor.execute(missing, ctx)


async def test_a_symbol_replacement_lands_and_a_broken_one_changes_nothing(
    sandbox: SandboxClient,
) -> None:
    ctx = ToolContext(uuid4(), TENANT, "coder")
    await sandbox.create_workspace(TENANT, ctx.workspace_id)
    registry = ToolRegistry(builtin_entries(sandbox), env={})
    source = "class Calc:\n    def add(self, a, b):\n        return a - b\n"
    await sandbox.write_file(TENANT, ctx.workspace_id, "calc.py", source.encode())

    code = "def add(self, a, b):\n    return a + b"
    done = await run(registry, ctx, "replace_symbol", path="/workspace/calc.py", symbol="add",
                     code=code)  # fmt: skip
    assert done == {
        "path": "calc.py", "symbol": "Calc.add", "line": 2, "lines_removed": 2,
        "lines_added": 2, "note": "",
    }  # fmt: skip
    fixed = source.replace("a - b", "a + b").encode()
    assert await sandbox.read_file(TENANT, ctx.workspace_id, "calc.py") == fixed

    entry = registry.get("replace_symbol")
    assert entry is not None
    for symbol, new, why in [
        ("sub", code, "no function or class named 'sub' in calc.py; it defines: Calc, Calc.add"),
        ("add", "def plus(self, a, b):\n    return a", "defines plus, not add"),
        ("add", "def add(self, a, b)\n    return a", "does not parse (line 1: expected ':')"),
    ]:
        arguments = entry.parse({"path": "calc.py", "symbol": symbol, "code": new})
        with pytest.raises(ToolFailure, match=re.escape(why)):
            await entry.executor.execute(arguments, ctx)
        assert await sandbox.read_file(TENANT, ctx.workspace_id, "calc.py") == fixed
    missing = entry.parse({"path": "nope.py", "symbol": "f", "code": "def f(): pass"})
    with pytest.raises(ToolFailure, match="does not exist: create it with file_write"):
        await entry.executor.execute(missing, ctx)

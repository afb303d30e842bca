"""The built-in tools' executors: the workspace tools through the sandbox client, code search
through the indexer over NATS, deploy through a deploy provider.

Sandbox errors that retrying cannot fix (a missing file, a patch that does not apply) become the
call's result; a sandbox that does not answer is transient (retried, then the step fails).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import singledispatchmethod
from typing import Any

from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from pydantic import BaseModel, ValidationError

from bdg_contracts import subjects
from bdg_contracts import tool_events as tev
from bdg_sandbox.client import SandboxClient, SandboxRequestError
from bdg_tools import catalog as c
from bdg_tools.definitions import dropped_note
from bdg_tools.edits import EditError, apply_edit
from bdg_tools.retry import TransientToolError
from bdg_tools.spec import ToolContext, ToolEntry, ToolFailure
from bdg_tools.symbols.docstrings import docstrings_note, restore_docstrings
from bdg_tools.symbols.lookup import SymbolError
from bdg_tools.symbols.replace import replace_symbol
from bdg_tools.symbols.whole_write import WriteRefused, keep_definitions

MAX_READ_CHARS = 60_000
MAX_LIST_ENTRIES = 2_000
OUTPUT_TAIL = 8_000
DEFAULT_TEST_ARGV = ("python", "-m", "pytest", "-q")


def _sandbox_failure(error: SandboxRequestError) -> Exception:
    if error.code == "unavailable":
        return TransientToolError(str(error))
    return ToolFailure(str(error))


def _tail(data: bytes, limit: int = OUTPUT_TAIL) -> tuple[str, bool]:
    text = data.decode("utf-8", errors="replace")
    return (text[-limit:], True) if len(text) > limit else (text, False)


class SandboxTools:
    """file_read, file_write, edit_file, replace_symbol, apply_patch, list_files, run_command
    and run_tests."""

    def __init__(self, client: SandboxClient, command_timeout_s: float = 300.0) -> None:
        self.client = client
        self.command_timeout_s = command_timeout_s

    async def execute(self, arguments: Any, ctx: ToolContext) -> BaseModel | str:
        try:
            result: BaseModel = await self._run(arguments, ctx)
        except SandboxRequestError as error:
            raise _sandbox_failure(error) from error
        return result

    @singledispatchmethod
    async def _run(self, arguments: Any, ctx: ToolContext) -> BaseModel:
        raise TypeError(f"the sandbox runs no tool with {type(arguments).__name__} arguments")

    @_run.register
    async def _(self, a: c.FileRead, ctx: ToolContext) -> BaseModel:
        raw = await self.client.read_file(ctx.tenant_id, ctx.workspace_id, a.path)
        lines = raw.decode("utf-8", errors="replace").splitlines(keepends=True)
        start = (a.start_line or 1) - 1
        text = "".join(lines[start : a.end_line])
        cut = len(text) > MAX_READ_CHARS
        return c.FileContent(
            path=a.path, content=text[:MAX_READ_CHARS], total_lines=len(lines), truncated=cut
        )

    @_run.register
    async def _(self, a: c.FileWrite, ctx: ToolContext) -> BaseModel:
        old = await self._existing(ctx, a.path)
        content, note = a.content, ""
        if old:
            try:
                kept = keep_definitions(a.path, old, a.content)
            except WriteRefused as error:
                raise ToolFailure(str(error)) from error
            if kept is not None:
                content, note = kept.content, kept.note
            else:
                note = dropped_note(a.path, old, a.content)
            content, documented = restore_docstrings(a.path, old, content)
            if documented:
                note = " ".join(filter(None, [note, docstrings_note(documented)]))
        data = with_final_newline(content, old).encode("utf-8", "surrogatepass")
        await self.client.write_file(ctx.tenant_id, ctx.workspace_id, a.path, data)
        return c.FileWritten(path=a.path, bytes_written=len(data), note=note)

    async def _existing(self, ctx: ToolContext, path: str) -> str:
        """The file's content before a write ("" when there is none to compare)."""
        try:
            raw = await self.client.read_file(ctx.tenant_id, ctx.workspace_id, path)
        except SandboxRequestError as error:
            if error.code in ("not_found", "invalid"):
                return ""
            raise
        # whole: the kept definitions are written back, so nothing may be cut off
        return raw.decode("utf-8", errors="replace")

    async def _to_edit(self, ctx: ToolContext, path: str) -> str:
        """The content of a file an edit changes; a missing one is the model's to create."""
        try:
            raw = await self.client.read_file(ctx.tenant_id, ctx.workspace_id, path)
        except SandboxRequestError as error:
            if error.code in ("not_found", "invalid"):
                raise ToolFailure(
                    f"{path} does not exist: create it with file_write. Nothing was changed."
                ) from error
            raise
        return raw.decode("utf-8", errors="replace")

    @_run.register
    async def _(self, a: c.EditFile, ctx: ToolContext) -> BaseModel:
        content = await self._to_edit(ctx, a.path)
        try:
            edited = apply_edit(a.path, content, a.search, a.replace)
        except EditError as error:
            raise ToolFailure(str(error)) from error
        await self.client.write_file(ctx.tenant_id, ctx.workspace_id, a.path, edited.encode())
        return c.FileEdited(
            path=a.path,
            line=content[: content.index(a.search)].count("\n") + 1,
            lines_removed=len(a.search.splitlines()),
            lines_added=len(a.replace.splitlines()),
        )

    @_run.register
    async def _(self, a: c.ReplaceSymbol, ctx: ToolContext) -> BaseModel:
        content = await self._to_edit(ctx, a.path)
        try:
            done = replace_symbol(a.path, content, a.symbol, a.code)
        except SymbolError as error:
            raise ToolFailure(str(error)) from error
        if done.content != content:
            data = done.content.encode("utf-8", "surrogatepass")
            await self.client.write_file(ctx.tenant_id, ctx.workspace_id, a.path, data)
        return c.SymbolReplaced(
            path=a.path,
            symbol=done.symbol,
            line=done.line,
            lines_removed=done.lines_removed,
            lines_added=done.lines_added,
            note=done.note,
        )

    @_run.register
    async def _(self, a: c.ApplyPatch, ctx: ToolContext) -> BaseModel:
        await self.client.apply_patches(ctx.tenant_id, ctx.workspace_id, [a.patch])
        return c.PatchApplied(paths=patched_paths(a.patch))

    @_run.register
    async def _(self, a: c.ListFiles, ctx: ToolContext) -> BaseModel:
        path = a.path or "."
        found = await self.client.list_files(ctx.tenant_id, ctx.workspace_id, path)
        entries = [c.Entry(path=e.path, size=e.size, is_dir=e.is_dir) for e in found]
        return c.FileList(
            path=path,
            entries=entries[:MAX_LIST_ENTRIES],
            truncated=len(entries) > MAX_LIST_ENTRIES,
        )

    @_run.register
    async def _(self, a: c.RunCommand, ctx: ToolContext) -> BaseModel:
        limits = {"timeout_s": a.timeout_s or self.command_timeout_s}
        run = await self.client.exec(ctx.tenant_id, ctx.workspace_id, a.argv, limits=limits)
        out, out_cut = _tail(run.stdout)
        err, err_cut = _tail(run.stderr)
        return c.CommandResult(
            exit_code=run.exited.code,
            stdout=out,
            stderr=err,
            timed_out=run.exited.timed_out,
            truncated=out_cut or err_cut,
        )

    @_run.register
    async def _(self, a: c.RunTests, ctx: ToolContext) -> BaseModel:
        argv = list(a.argv or DEFAULT_TEST_ARGV) + ([a.path] if a.path else [])
        limits = {"timeout_s": self.command_timeout_s}
        run = await self.client.exec(ctx.tenant_id, ctx.workspace_id, argv, limits=limits)
        tail, _ = _tail(run.stdout + run.stderr)
        return c.TestRun(passed=run.ok, exit_code=run.exited.code, output_tail=tail)


def with_final_newline(content: str, old: str) -> str:
    """``content`` ending in a newline, as text files do: models end their JSON string at the
    last character they see (every file the small models wrote lost its final newline). A file
    that had none before keeps having none; an empty file stays empty."""
    if not content or content.endswith("\n") or (old and not old.endswith("\n")):
        return content
    return content + "\n"


def patched_paths(patch: str) -> list[str]:
    """The files a unified diff touches (its ``+++`` lines, or ``---`` for deletions)."""
    paths: list[str] = []
    old = ""
    for line in patch.splitlines():
        if line.startswith("--- "):
            old = line[4:].split("\t")[0].strip()
        elif line.startswith("+++ "):
            new = line[4:].split("\t")[0].strip()
            name = old if new == "/dev/null" else new
            name = name[2:] if name[:2] in ("a/", "b/") else name
            if name and name not in paths:
                paths.append(name)
    return paths


class IndexSearch:
    """search_code: the indexer answers over NATS request/reply; no indexer, no index."""

    def __init__(self, nc: Client, repo: str = "", timeout: float = 10.0) -> None:
        self.nc, self.repo, self.timeout = nc, repo, timeout

    async def execute(self, arguments: Any, ctx: ToolContext) -> BaseModel | str:
        assert isinstance(arguments, c.SearchCode)
        request = tev.SearchCode(
            tenant_id=ctx.tenant_id,
            repo=self.repo,
            query=arguments.query,
            limit=arguments.limit or 10,
        )
        try:
            reply = await self.nc.request(
                subjects.code_search(), request.model_dump_json().encode(), timeout=self.timeout
            )
        except NoRespondersError:
            return c.CodeSearch(
                available=False,
                note="no index: no indexer is running; use list_files and file_read instead",
            )
        except NatsTimeoutError as error:
            raise TransientToolError(f"the indexer did not answer in {self.timeout}s") from error
        try:
            found = tev.CodeSearched.model_validate_json(reply.data)
        except ValidationError as error:
            raise ToolFailure(f"the indexer answered something else: {error}") from error
        if found.error:
            return c.CodeSearch(available=False, note=found.error)
        hits = [
            c.CodeHit(
                path=h.path, start_line=h.start_line, end_line=h.end_line, snippet=h.snippet,
                score=h.score,
            )
            for h in found.hits
        ]  # fmt: skip
        return c.CodeSearch(available=True, hits=hits)


DeployFn = Callable[[ToolContext, str | None], Awaitable[c.Deployment]]


class ProviderDeploy:
    """deploy: hands the workspace to a deploy provider (``deploy(ctx, target) -> Deployment``)."""

    def __init__(self, deploy: DeployFn) -> None:
        self.deploy = deploy

    async def execute(self, arguments: Any, ctx: ToolContext) -> BaseModel | str:
        assert isinstance(arguments, c.Deploy)
        return await self.deploy(ctx, arguments.target)


def builtin_entries(
    sandbox: SandboxClient, nc: Client | None = None, deploy: DeployFn | None = None
) -> list[ToolEntry]:
    """Every built-in tool bound to its executor; search and deploy only when they can run."""
    tools = SandboxTools(sandbox)
    workspace = (
        c.FILE_READ, c.FILE_WRITE, c.EDIT_FILE, c.REPLACE_SYMBOL, c.APPLY_PATCH, c.LIST_FILES,
    )  # fmt: skip
    entries = [t.bind(tools) for t in (*workspace, c.RUN_COMMAND)]
    if nc is not None:
        entries.append(c.SEARCH_CODE.bind(IndexSearch(nc)))
    entries.append(c.RUN_TESTS.bind(tools))
    if deploy is not None:
        entries.append(c.DEPLOY.bind(ProviderDeploy(deploy)))
    return entries

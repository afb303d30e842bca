"""Reading a sandbox workspace: its file list, the few files detection needs, result files.

Only what is asked for is read (manifests for detection, sources for scaffolding, reports),
through sandboxd's ws.list / ws.read; a file that is missing or too large reads as "".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from bdg_sandbox.client import SandboxClient, SandboxRequestError
from bdg_tester.detection.tree import SKIP_DIRS, glob_match

MAX_FILE_BYTES = 512 * 1024
MAX_FILES = 50_000
PARALLEL_READS = 8
_WILDCARDS = ("*", "?", "[")


class WorkspaceFiles:
    def __init__(self, client: SandboxClient, tenant: str, workspace: str) -> None:
        self.client, self.tenant, self.workspace = client, tenant, workspace
        self.sizes: dict[str, int] = {}

    async def listing(self) -> dict[str, int]:
        """Every file (outside installed dependencies and build output) with its size."""
        entries = await self.client.list_files(self.tenant, self.workspace, ".")
        self.sizes = {
            e.path: e.size
            for e in entries
            if not e.is_dir and not any(part in SKIP_DIRS for part in e.path.split("/")[:-1])
        }
        if len(self.sizes) > MAX_FILES:
            self.sizes = dict(sorted(self.sizes.items())[:MAX_FILES])
        return self.sizes

    async def tree(self, want: Callable[[str], bool]) -> dict[str, str]:
        """{path: text} for every listed file; text only where `want` says (else "")."""
        sizes = self.sizes or await self.listing()
        files = dict.fromkeys(sizes, "")
        files.update(await self.read_many(p for p in sizes if want(p)))
        return files

    async def read_many(self, paths: Iterable[str]) -> dict[str, str]:
        gate = asyncio.Semaphore(PARALLEL_READS)

        async def one(path: str) -> tuple[str, str]:
            async with gate:
                return path, await self.read_text(path)

        return dict(await asyncio.gather(*(one(p) for p in paths)))

    async def read_text(self, path: str) -> str:
        if self.sizes.get(path, 0) > MAX_FILE_BYTES:
            return ""
        try:
            data = await self.client.read_file(self.tenant, self.workspace, path)
        except SandboxRequestError as error:
            if error.code in ("not_found", "invalid"):  # gone, a directory, or not a file
                return ""
            raise
        return data[:MAX_FILE_BYTES].decode(errors="replace")

    async def write_text(self, path: str, text: str) -> None:
        await self.client.write_file(self.tenant, self.workspace, path, text.encode())

    async def matching(self, pattern: str) -> list[str]:
        """Workspace paths matching a glob (`**` spans directories), read now (reports are
        written after the listing was taken)."""
        parts = pattern.removeprefix("./").split("/")
        if not any(w in pattern for w in _WILDCARDS):
            return [pattern]
        static = []
        for part in parts:
            if any(w in part for w in _WILDCARDS):
                break
            static.append(part)
        base = "/".join(static) or "."
        try:
            entries = await self.client.list_files(self.tenant, self.workspace, base)
        except SandboxRequestError as error:
            if error.code in ("not_found", "invalid"):
                return []
            raise
        return sorted(e.path for e in entries if not e.is_dir and glob_match(e.path, pattern))

    async def documents(self, pattern: str) -> list[str]:
        """The text of every file matching `pattern` that exists and is not empty."""
        texts = await self.read_many(await self.matching(pattern))
        return [texts[p] for p in sorted(texts) if texts[p].strip()]

    async def remove(self, path: str) -> None:
        try:
            await self.client.delete_file(self.tenant, self.workspace, path)
        except SandboxRequestError as error:
            if error.code != "not_found":
                raise

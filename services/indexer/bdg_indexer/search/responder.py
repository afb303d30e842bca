"""Answers ``SearchCode`` on ``subjects.code_search()`` (NATS request/reply) with ``CodeSearched``.

Copies of the indexer share the subject through a queue group, so each request is answered
once. Every request gets a reply: a bad request, a failed query or a timeout is an ``error``.
The query is embedded with the indexer's own embedder (the same space as the chunks).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import ValidationError

from bdg_contracts import index_events as ix
from bdg_contracts import subjects
from bdg_contracts import tool_events as tev
from bdg_indexer.failures import describe
from bdg_indexer.search.code_search import SearchMode, search
from bdg_indexer.search.ranking import SearchHit
from bdg_indexer.storage.vectors import ChunkStore
from bdg_llm.embeddings import Embedder

log = logging.getLogger("bdg_indexer")
QUEUE = "indexer"


class SearchResponder:
    def __init__(
        self,
        store: Callable[[], Awaitable[ChunkStore]],
        embedder: Embedder,
        timeout: float = 10.0,
    ) -> None:
        self.store, self.embedder, self.timeout = store, embedder, timeout
        self._running: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(8)  # searches at once in this copy; others wait

    async def on_message(self, msg: Msg) -> None:
        """The subscription's callback: each request in its own task (NATS would run them one
        after the other)."""
        task = asyncio.create_task(self.on_request(msg))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def answer(self, request: tev.SearchCode) -> tev.CodeSearched:
        mode = SearchMode(request.mode)
        vector = None
        if mode is not SearchMode.FULLTEXT:
            vector = (await self.embedder.embed([request.query]))[0]
        hits = await search(
            await self.store(),
            request.tenant_id,
            ix.normalize_repo(request.repo) if request.repo else None,
            request.query,
            vector,
            mode=mode,
            limit=request.limit,
            token_budget=request.token_budget,
        )
        return tev.CodeSearched(hits=tuple(_hit(h) for h in hits))

    async def on_request(self, msg: Msg) -> None:
        async with self._slots:
            await self._respond(msg)

    async def _respond(self, msg: Msg) -> None:
        try:
            request = tev.SearchCode.model_validate_json(msg.data)
        except ValidationError as error:
            reply = tev.CodeSearched(error=f"bad request: {_first(error)}")
        else:
            try:
                reply = await asyncio.wait_for(self.answer(request), self.timeout)
            except Exception as error:
                log.warning("search for tenant %s failed: %s", request.tenant_id, describe(error))
                reply = tev.CodeSearched(error=f"search failed: {describe(error)}"[:2000])
        if msg.reply:
            await msg.respond(reply.model_dump_json().encode())

    async def subscribe(self, nc: Client) -> Subscription:
        return await nc.subscribe(subjects.code_search(), queue=QUEUE, cb=self.on_message)


def _hit(hit: SearchHit) -> tev.CodeHit:
    return tev.CodeHit(
        path=hit.path,
        start_line=hit.start_line,
        end_line=hit.end_line,
        snippet=hit.snippet,
        score=hit.score,
        language=hit.language,
        repo=hit.repo,
        token_count=hit.token_count,
    )


def _first(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return f"{where}: {first['msg']}"

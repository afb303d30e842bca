"""Indexer service: chunks and embeds repositories, answers searches (DESIGN.md section 2).

Composition root: settings and the embedder are read here; the chunk store (PostgreSQL pool,
the space's table) opens on first use, inside the running service, never at import time.
"""

from __future__ import annotations

import asyncio
import logging

from bdg_indexer.application import NAME, Indexing
from bdg_indexer.chunking.sizing import chunk_tokens
from bdg_indexer.handlers import IndexerHandlers
from bdg_indexer.indexing import Pipeline
from bdg_indexer.search.responder import SearchResponder
from bdg_indexer.settings import IndexerSettings
from bdg_indexer.storage.spaces import EmbeddingSpace
from bdg_indexer.storage.status import StatusBoard
from bdg_indexer.storage.vectors import ChunkStore
from bdg_jobs.application import utc_now
from bdg_jobs.repo_commands import RepoCommands
from bdg_jobs.sources import SourceGrantsError
from bdg_llm.embeddings import Embedder, embedder_from_env
from bdg_llm.settings import LlmSettings
from bdg_runtime import service
from bdg_runtime.bus import JetStreamPublisher
from bdg_runtime.metered_embeddings import MeteredEmbedder, metered_embedder
from bdg_runtime.reactions import AnyReaction
from bdg_runtime.settings import source_rules

log = logging.getLogger("bdg_indexer")
RUN_MARGIN_SECONDS = 30.0  # a run stops this long before the consumer's limit, to record why


class Stores:
    """The chunk store of the embedder's space, opened once, on first use."""

    def __init__(self, database_url: str, embedder: Embedder, settings: IndexerSettings) -> None:
        self.url, self.embedder, self.settings = database_url, embedder, settings
        self.space = EmbeddingSpace(embedder.model_name, embedder.dims)
        self._lock = asyncio.Lock()
        self._store: ChunkStore | None = None
        self._pipeline: Pipeline | None = None

    async def store(self) -> ChunkStore:
        async with self._lock:
            if self._store is None:
                self._store = await ChunkStore.open(self.url, self.space, max_size=6)
            return self._store

    async def pipeline(self) -> Pipeline:
        store = await self.store()
        if self._pipeline is None:
            prices = LlmSettings().price_table()
            self._pipeline = Pipeline(
                store,
                StatusBoard(store.pool),
                self.embedder,
                prices,
                self.settings.bdg_index_batch,
                chunk_tokens(self.embedder, self.settings.bdg_index_max_tokens),
            )
        return self._pipeline

    async def close(self) -> None:
        if self._store is not None:
            await self._store.close()


def build(
    ctx: service.ServiceContext, settings: IndexerSettings
) -> tuple[IndexerHandlers, Stores, MeteredEmbedder]:
    try:
        embedder = metered_embedder(
            embedder_from_env(), ctx.database_url, LlmSettings().price_table()
        )
        stores = Stores(ctx.database_url, embedder, settings)
    except ValueError as error:  # BDG_EMBEDDINGS, a model of unknown or too many dimensions
        raise service.ConfigurationError(f"embeddings: {error}") from error
    try:
        rules = source_rules(ctx.settings)
    except SourceGrantsError as error:
        raise service.ConfigurationError(str(error)) from error
    commands = RepoCommands(ctx.store, ctx.database_url, JetStreamPublisher(ctx.js), sources=rules)
    run_timeout = settings.bdg_index_timeout_seconds
    indexing = Indexing(
        commands,
        stores.pipeline,
        ctx.database_url,
        settings.index_dir(),
        settings.bdg_index_git_timeout_seconds,
        run_timeout,
        utc_now,
        rules,
    )
    handlers = IndexerHandlers(
        indexing, ctx.settings.bdg_max_deliver, run_timeout + RUN_MARGIN_SECONDS
    )
    log.info(
        "embeddings: %s (%d dims); working copies in %s",
        embedder.model_name,
        embedder.dims,
        settings.index_dir(),
    )
    return handlers, stores, embedder


def run() -> None:
    settings = IndexerSettings()
    built: list[tuple[IndexerHandlers, Stores, MeteredEmbedder]] = []

    def reactions(ctx: service.ServiceContext) -> list[AnyReaction]:
        built.append(build(ctx, settings))
        return built[0][0].reactions()

    async def searches(ctx: service.ServiceContext, stop: asyncio.Event) -> None:
        _, stores, metered = built[0]
        responder = SearchResponder(
            stores.store, stores.embedder, settings.bdg_index_search_timeout_seconds
        )
        subscription = await responder.subscribe(ctx.nc)
        try:
            await stop.wait()
        finally:
            await subscription.unsubscribe()
            await stores.close()
            await metered.close()

    service.run(NAME, reactions, searches)


if __name__ == "__main__":
    run()

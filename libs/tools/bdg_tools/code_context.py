"""The code a step works from (the planner's plan, the coder's attempt): asked of the indexer
over NATS (``SearchCode``), or, on a replay, taken from the log.

No indexer, a slow one or an unindexed repository is not a failure: the step goes on without
code, and the note says why. What was retrieved is recorded with the step's reaction
(CodeContextRetrieved), so a replay shows the step the same code whatever the index holds then.
"""

from __future__ import annotations

import abc
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass

from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from pydantic import ValidationError

from bdg_contracts import subjects
from bdg_contracts import tool_events as tev
from bdg_contracts.base import Event


@dataclass(frozen=True)
class Retrieved:
    query: str
    repo: str
    hits: tuple[tev.CodeHit, ...] = ()
    note: str = ""


class AbstractCodeContext(abc.ABC):
    @abc.abstractmethod
    async def retrieve(self, tenant_id: str, repo: str, query: str) -> Retrieved: ...


class NoCodeContext(AbstractCodeContext):
    async def retrieve(self, tenant_id: str, repo: str, query: str) -> Retrieved:
        return Retrieved(query, repo, note="no index configured")


class IndexerContext(AbstractCodeContext):
    """``SearchCode`` over NATS request/reply to whichever indexer copy answers."""

    def __init__(
        self, nc: Client, timeout: float = 5.0, limit: int = 6, token_budget: int | None = None
    ) -> None:
        self.nc, self.timeout, self.limit, self.token_budget = nc, timeout, limit, token_budget

    async def retrieve(self, tenant_id: str, repo: str, query: str) -> Retrieved:
        request = tev.SearchCode(
            tenant_id=tenant_id,
            repo=repo,
            query=query[:2_000],
            limit=self.limit,
            token_budget=self.token_budget,
        )
        try:
            reply = await self.nc.request(
                subjects.code_search(), request.model_dump_json().encode(), timeout=self.timeout
            )
        except NoRespondersError:
            return Retrieved(query, repo, note="no index: no indexer is running")
        except NatsTimeoutError:
            return Retrieved(query, repo, note=f"the indexer did not answer in {self.timeout} s")
        try:
            found = tev.CodeSearched.model_validate_json(reply.data)
        except ValidationError as error:
            return Retrieved(query, repo, note=f"the indexer answered something else: {error}")
        return Retrieved(query, repo, found.hits, found.error)


class ContextNotRecordedError(LookupError):
    """A replay asked for code the recorded run never retrieved."""


class RecordedCodeContext(AbstractCodeContext):
    """On a replay: what the job's CodeContextRetrieved events (of ``producer``, when given) say
    was found, query by query, in order."""

    def __init__(self, history: Sequence[Event], producer: str | None = None) -> None:
        self._found: dict[tuple[str, str], deque[tev.CodeContextRetrieved]] = defaultdict(deque)
        for event in history:
            if not isinstance(event, tev.CodeContextRetrieved):
                continue
            if producer is None or event.producer == producer:
                self._found[(event.repo, event.query)].append(event)

    async def retrieve(self, tenant_id: str, repo: str, query: str) -> Retrieved:
        recorded = self._found.get((repo, query))
        if not recorded:
            raise ContextNotRecordedError(
                f"replay: the recorded run retrieved no code for {query[:80]!r} in {repo!r}"
            )
        event = recorded.popleft()
        return Retrieved(event.query, event.repo, event.hits, event.note)

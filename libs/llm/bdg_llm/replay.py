"""The replay provider: answers each call from a job's recorded LlmCalled events.

A call is looked up by its request hash, computed with the model the role had when recorded
(the first recorded call of that role) unless ``models`` says otherwise; so a fork with another
model misses, as it should. Identical requests are answered in recorded order. A call with no
recorded answer raises ReplayMissError: the run has diverged from the recorded one.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Mapping, Sequence

from bdg_contracts.events import LlmCalled
from bdg_llm.api import ChatRequest, ChatResult, M, OnDelta
from bdg_llm.hashing import request_hash
from bdg_llm.job_models import model_chosen_for
from bdg_llm.schema import structured_request, validate_answer


class ReplayMissError(LookupError):
    """No recorded answer for this call: the new run asks something the old one did not."""

    def __init__(self, request_hash: str, role: str, model: str | None) -> None:
        what = f"model {model}" if model else "no recorded model for this role"
        super().__init__(
            f"replay: no recorded {role} call with request hash {request_hash} ({what}); "
            "the run diverges from the recorded one here"
        )
        self.request_hash = request_hash
        self.role = role


class ReplayLlm:
    def __init__(
        self, recorded: Sequence[LlmCalled], models: Mapping[str, str] | None = None
    ) -> None:
        self._answers: dict[str, deque[LlmCalled]] = defaultdict(deque)
        self.models: dict[str, str] = {}
        for event in recorded:
            self._answers[event.request_hash].append(event)
            self.models.setdefault(event.role, event.model)
        self.models.update(models or {})

    def remaining(self) -> int:
        """Recorded calls not asked for (yet)."""
        return sum(len(queue) for queue in self._answers.values())

    async def chat(self, request: ChatRequest, on_delta: OnDelta | None = None) -> ChatResult:
        model = model_chosen_for(request.role) or self.models.get(request.role)
        key = request_hash(model or "", request)
        queue = self._answers.get(key)
        if model is None or not queue:
            raise ReplayMissError(key, request.role, model)
        event = queue.popleft()
        if on_delta is not None:
            await on_delta(event.response)
        return ChatResult(
            content=event.response,
            model=event.model,
            request_hash=key,
            prompt_tokens=event.prompt_tokens,
            completion_tokens=event.completion_tokens,
            cost_usd=event.cost_usd,
        )

    async def structured(self, request: ChatRequest, answer: type[M]) -> tuple[M, ChatResult]:
        result = await self.chat(structured_request(request, answer))
        return validate_answer(result, answer), result

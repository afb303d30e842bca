"""Models one job asked for (a fork with another model): chosen per handler, over settings.

A handler that works on a job opens ``job_models(job.models)``; every client call made inside
it takes the job's model for its role, else the configured one. Each asyncio task has its own
context, so concurrent handlers of different jobs never see each other's choice.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

_current: ContextVar[Mapping[str, str] | None] = ContextVar("job_models", default=None)


@contextmanager
def job_models(models: Mapping[str, str]) -> Iterator[None]:
    token = _current.set(dict(models))
    try:
        yield
    finally:
        _current.reset(token)


def model_chosen_for(role: str) -> str | None:
    """The model the current job chose for ``role``, if it chose one."""
    models = _current.get()
    return models.get(role) if models else None

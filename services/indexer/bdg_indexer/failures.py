"""Which failures a later delivery may not meet (retried), and which it always will (recorded
as IndexFailed at once), with a reason a person can act on."""

from __future__ import annotations

import psycopg

from bdg_indexer.discovery.git import DiscoveryError
from bdg_indexer.domain import redact
from bdg_indexer.mirror import MirrorError
from bdg_llm.api import LlmRejectedError, LlmUnavailableError
from bdg_llm.embeddings import EmbeddingModelError

# Wrong input or configuration: the same delivery would fail the same way.
PERMANENT: tuple[type[Exception], ...] = (
    DiscoveryError,  # not a git tree, unknown commit
    EmbeddingModelError,  # the offline model is not installed
    LlmRejectedError,  # the embeddings endpoint refused (bad key, unknown model)
    ValueError,  # a bad glob in the repository's filter, vectors of the wrong size
)


def is_transient(error: BaseException) -> bool:
    """True for trouble that may pass (database or endpoint down, network, a timeout) and for
    the unexpected (a bug is retried like the rest, then recorded on the last delivery)."""
    if isinstance(error, MirrorError):
        return error.transient
    if isinstance(error, LlmRejectedError):
        return False
    if isinstance(error, LlmUnavailableError | psycopg.Error | TimeoutError | OSError):
        return True
    return not isinstance(error, PERMANENT)


def describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError) and not str(error):
        return "the run timed out (its progress is kept: a new delivery resumes it)"
    text = str(error) or type(error).__name__
    if not isinstance(error, MirrorError | DiscoveryError | LlmUnavailableError):
        text = f"{type(error).__name__}: {text}"
    return redact(text)[:4000]

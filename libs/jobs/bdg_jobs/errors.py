"""Domain errors: raised before anything is appended."""

from __future__ import annotations


class DomainError(Exception):
    """A command that the job's current state does not allow."""


class IllegalTransitionError(DomainError):
    pass


class JobNotFoundError(LookupError):
    pass


class ConcurrencyConflictError(Exception):
    """Another writer appended to the job first; reload and decide again."""

"""Domain errors: raised before anything is appended."""

from __future__ import annotations


class DomainError(Exception):
    """A command that the job's current state does not allow."""


class IllegalTransitionError(DomainError):
    """The job's state does not allow that event."""


class DigestMismatchError(DomainError):
    """A deploy approval naming another digest than the one awaiting approval (a 409)."""


class ErasedDataError(DomainError):
    """The job's personal data was erased (GDPR): what needs it, such as a fork, cannot run."""


class JobNotFoundError(LookupError):
    """No such job, or not the caller's tenant's (the same answer, on purpose)."""


class ConcurrencyConflictError(Exception):
    """Another writer appended to the job first; reload and decide again."""


class RepoNotFoundError(LookupError):
    """No repository of that id is registered (or it is not the caller's tenant's)."""

"""Consents (GDPR art. 7): given and withdrawn as events of the person's consent log, and
checked where processing needs them (the tenant's ``consent_required``).

The log's id comes from the person's data key (``consent_log_id``): its events are sealed
with that key like any other, and a person erased and back starts with no consent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from uuid import UUID, uuid5

from bdg_contracts.base import Event
from bdg_contracts.privacy_events import (
    PRIVACY_NAMESPACE,
    ConsentGiven,
    ConsentPurpose,
    ConsentWithdrawn,
    consent_log_id,
)
from bdg_jobs.errors import ConcurrencyConflictError
from bdg_jobs.store import JobStore

MAX_CONFLICTS = 5


class ConsentRequiredError(PermissionError):
    """Processing needs a consent the person has not given (or withdrew)."""

    def __init__(self, purpose: ConsentPurpose) -> None:
        super().__init__(
            f"consent to {purpose.value!r} is required by this tenant and was not given: "
            f'POST /agent/consent {{"purpose": "{purpose.value}", "given": true}}'
        )
        self.purpose = purpose


def consents_of(history: Iterable[Event]) -> dict[ConsentPurpose, bool]:
    """Each purpose's consent as of the end of ``history`` (never mentioned: not given)."""
    state = dict.fromkeys(ConsentPurpose, False)
    for event in history:
        if isinstance(event, ConsentGiven | ConsentWithdrawn):
            state[event.purpose] = isinstance(event, ConsentGiven)
    return state


def missing(state: dict[ConsentPurpose, bool], required: Sequence[ConsentPurpose]) -> list[str]:
    return [p.value for p in required if not state[p]]


class Consents:
    def __init__(self, store: JobStore) -> None:
        self.store = store

    def log_id(self, tenant: str, user: str) -> UUID:
        if self.store.personal is None:  # the in-memory store: no keys, one log per name
            return uuid5(PRIVACY_NAMESPACE, f"consents:{tenant}\x00{user}")
        key = self.store.personal.vault.key_for_user(tenant, user)
        return consent_log_id(str(key.key_id))

    def current(self, tenant: str, user: str) -> dict[ConsentPurpose, bool]:
        return consents_of(self.store.history(self.log_id(tenant, user)))

    def require(self, tenant: str, user: str, required: Sequence[ConsentPurpose]) -> None:
        if not required:
            return
        state = self.current(tenant, user)
        for purpose in required:
            if not state[purpose]:
                raise ConsentRequiredError(purpose)

    def record(
        self, tenant: str, user: str, purpose: ConsentPurpose, given: bool, at: datetime
    ) -> dict[ConsentPurpose, bool]:
        """Record the change (nothing when it is already so); the consents after it."""
        log_id = self.log_id(tenant, user)
        cls = ConsentGiven if given else ConsentWithdrawn
        for _ in range(MAX_CONFLICTS):
            history = self.store.history(log_id)
            state = consents_of(history)
            if state[purpose] == given:
                return state
            event = cls(
                job_id=log_id,
                version=len(history) + 1,
                correlation_id=str(log_id),
                tenant_id=tenant,
                user_id=user,
                producer=f"user:{user}",
                occurred_at=at,
                purpose=purpose,
            )
            try:
                self.store.append([event])
            except ConcurrencyConflictError:
                continue
            return {**state, purpose: given}
        raise ConcurrencyConflictError(f"consents of {log_id}: too many writers")

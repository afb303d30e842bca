"""Personal data: erasures and consents (GDPR arts. 17 and 7), events of the ``privacy`` log.

An erasure is an aggregate of one event, whose id is the erasure's: the auditor writes it into
a signed audit file like a job's. A person's consents are one aggregate per person
(``consent_log_id``), given and withdrawn per purpose.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar
from uuid import UUID, uuid5

from pydantic import Field, StrictBool

from bdg_contracts.base import Contract, Event
from bdg_contracts.text import NOT_BLANK, Text

PRIVACY_NAMESPACE = UUID("0b9f3c7e-2a41-4f7d-8c55-9e6d1f0a7b23")
SELF = "self"  # requested_by of a person erasing themself: their id would outlive them


class ErasureCategory(StrEnum):
    event_fields = "event_fields"  # sealed fields of the log: their key destroyed
    legacy_event_fields = "legacy_event_fields"  # fields stored before sealing: redacted
    job_read_models = "job_read_models"
    chat_threads = "chat_threads"
    index_chunks = "index_chunks"
    bus_messages = "bus_messages"
    budget_records = "budget_records"


class ConsentPurpose(StrEnum):
    """What a person consents to; the tenant's policy says which ones its processing needs."""

    model_processing = "model_processing"  # their goals and plans sent to language models
    analytics = "analytics"


class PrivacyEvent(Event):
    aggregate: ClassVar[str] = "privacy"


class PersonalDataErased(PrivacyEvent):
    """A person was erased. ``subject`` is an HMAC of (tenant, user) under the master key:
    whoever holds the master key can tell that a given user was erased, nobody else can tell
    who was. ``job_id`` is the erasure's own id."""

    personal = personal_actor = ("requested_by",)

    subject: str = Field(pattern=r"^[0-9a-f]{64}$")
    requested_by: str = Field(min_length=1)
    categories: tuple[ErasureCategory, ...]
    jobs: int = Field(ge=0, description="jobs whose personal data was erased")


def consent_log_id(person_key: str) -> UUID:
    """One person's consent history, by the id of their data key: a person erased and back
    starts a new history (their old one reads ``[erased]``)."""
    return uuid5(PRIVACY_NAMESPACE, f"consents:{person_key}")


class ConsentGiven(PrivacyEvent):
    purpose: ConsentPurpose


class ConsentWithdrawn(PrivacyEvent):
    purpose: ConsentPurpose


ALL_PRIVACY_EVENTS: tuple[type[Event], ...] = (
    PersonalDataErased,
    ConsentGiven,
    ConsentWithdrawn,
)


class RecordConsent(Contract):
    """The caller gives (``given``) or withdraws consent to one purpose."""

    purpose: ConsentPurpose
    given: StrictBool  # 0 or "no" is not an answer to a consent question


class DeletePersonalData(Contract):
    """Erase a person of the caller's tenant (a tenant admin, or the person themself)."""

    user: Annotated[str, Text(200, min_len=1, pattern=NOT_BLANK, hint="must not be blank")]

"""Base classes of every contract: frozen pydantic models, versioned events, a class registry."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bdg_contracts.ids import new_event_id


class Contract(BaseModel):
    """Frozen, strict-about-extras model shared between services."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class UnknownEventError(LookupError):
    """A stored or received event names a class this code does not know."""


class Event(Contract):
    """Envelope of every job event.

    ``class_version`` is the schema version; older stored versions are upcast on load by
    ``upcast_v<N>_v<N+1>`` static methods, the eventsourcing library's convention.
    """

    class_version: ClassVar[int] = 1
    registry: ClassVar[dict[str, type[Event]]] = {}
    # The aggregate the event belongs to; ``job_id`` is that aggregate's id. Jobs are most of
    # the log; a repository's index ("repo") has its own few events in the same log.
    aggregate: ClassVar[str] = "job"
    # Fields holding personal data (free text a person typed, ids of people): stored encrypted
    # with the subject's data key (bdg_jobs.personal), so erasing the key erases them. The
    # envelope's ``user_id`` (and a ``user:<id>`` producer) always are.
    personal: ClassVar[tuple[str, ...]] = ()
    # Of those, the ones naming the person who decided (an approver): theirs, sealed with their
    # key. The rest of ``personal`` is about the job, sealed with its owner's key even when
    # someone else typed it (a colleague's plan edit): erasing the owner makes it unreadable,
    # erasing the colleague leaves it unattributed.
    personal_actor: ClassVar[tuple[str, ...]] = ()

    job_id: UUID
    version: int = Field(ge=1, description="position in the job's event sequence")
    event_id: str = Field(default_factory=new_event_id, description="ULID")
    causation_id: str | None = None
    correlation_id: str
    tenant_id: str
    user_id: str | None = None
    producer: str = Field(description="service or 'user:<id>' that decided this event")
    occurred_at: datetime
    schema_version: int = 1
    traceparent: str | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Event.registry[cls.__name__] = cls

    @model_validator(mode="before")
    @classmethod
    def _upcast(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        # A new event built in code has no schema_version yet: it is of the current version.
        stored = int(data.get("schema_version", cls.class_version))
        if stored > cls.class_version:
            raise ValueError(
                f"{cls.__name__} schema_version {stored} is newer than this code "
                f"({cls.class_version}); upgrade the service"
            )
        if stored == cls.class_version:
            return {**data, "schema_version": stored}
        state = dict(data)
        while stored < cls.class_version:
            getattr(cls, f"upcast_v{stored}_v{stored + 1}")(state)
            stored += 1
        state["schema_version"] = stored
        return state

    @classmethod
    def named(cls, name: str) -> type[Event]:
        try:
            return Event.registry[name]
        except KeyError:
            raise UnknownEventError(f"unknown event type {name!r}") from None

    @property
    def name(self) -> str:
        return type(self).__name__

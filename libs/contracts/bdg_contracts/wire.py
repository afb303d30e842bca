"""Events on the wire: JSON body, the class name and schema version in headers."""

from __future__ import annotations

from collections.abc import Mapping

from bdg_contracts.base import Event
from bdg_contracts.subjects import msg_id

EVENT_HEADER = "Bdg-Event"
SCHEMA_HEADER = "Bdg-Schema"
NOTIFICATION_HEADER = "Bdg-Notification"
TRACE_HEADER = "traceparent"


def headers_for(event: Event, notification_id: int | None = None) -> dict[str, str]:
    headers = {
        "Nats-Msg-Id": msg_id(event),
        EVENT_HEADER: event.name,
        SCHEMA_HEADER: str(event.schema_version),
    }
    if notification_id is not None:
        headers[NOTIFICATION_HEADER] = str(notification_id)
    if event.traceparent:
        headers[TRACE_HEADER] = event.traceparent
    return headers


def encode(event: Event) -> bytes:
    return event.model_dump_json().encode()


def decode(headers: Mapping[str, str], body: bytes) -> Event:
    cls = Event.named(headers[EVENT_HEADER])
    return cls.model_validate_json(body)

"""A delivery seen from outside: its span (child of the span that published the event) and its
metrics (handled by outcome, latency, redeliveries, dead letters)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bdg_contracts.base import Event
from bdg_telemetry import metrics, tracing


@dataclass
class Seen:
    outcome: str = "ok"  # ok | stopped (job cancelled) | retry | dead_letter; exception: "error"


@contextmanager
def observed(
    service: str, consumer: str, subject: str, event: Event, attempt: int
) -> Iterator[Seen]:
    labels = (service, event.name)
    if attempt > 1:
        metrics.REDELIVERIES.labels(*labels).inc()
    # Built only when traced: tracing off costs nothing here.
    attributes: dict[str, tracing.AttributeValue | None] | None = None
    if tracing.enabled():
        attributes = {
            "messaging.system": "nats",
            "messaging.operation.type": "process",
            "messaging.destination.name": subject,
            "messaging.consumer.group.name": consumer,
            "messaging.message.id": event.event_id,
            "bdg.job_id": str(event.job_id),
            "bdg.tenant_id": event.tenant_id,
            "bdg.delivery": attempt,
        }
    seen = Seen(outcome="error")
    started = time.perf_counter()
    try:
        with tracing.span(
            f"process {event.name}", attributes, parent=event.traceparent, kind="consumer"
        ) as span:
            seen.outcome = "ok"
            yield seen
            span.set("bdg.outcome", seen.outcome)
    finally:
        metrics.HANDLER_SECONDS.labels(*labels).observe(time.perf_counter() - started)
        metrics.EVENTS_HANDLED.labels(*labels, seen.outcome).inc()
        if seen.outcome == "dead_letter":
            metrics.DEAD_LETTERS.labels(*labels).inc()

"""Tracing on: our own light spans (``spans``), exported over OTLP/HTTP by the SDK's
exporter; imported only when tracing is on.

Endpoint, headers, TLS, compression and timeout come from the standard ``OTEL_*`` variables
(read by the SDK's exporter), the service name and resource from ``OTEL_SERVICE_NAME`` and
``OTEL_RESOURCE_ATTRIBUTES`` (read by the SDK's ``Resource``), the sampler from
``OTEL_TRACES_SAMPLER``/``_ARG``, the queue from ``OTEL_BSP_MAX_QUEUE_SIZE`` (default 2048),
``OTEL_BSP_MAX_EXPORT_BATCH_SIZE`` (512) and ``OTEL_BSP_SCHEDULE_DELAY`` (5000 ms). A span that
finds the queue full, or whose export failed (collector unreachable after the exporter's
retries), is dropped and counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from bdg_telemetry import spans, tracing
from bdg_telemetry.otlp_wire import RecordedEncoder, WireSpanExporter, keepalive_transport, post
from bdg_telemetry.sampler import Sampler
from bdg_telemetry.span_queue import SpanQueue

DEFAULT_QUEUE = 2048
DEFAULT_BATCH = 512  # the SDK's defaults
DEFAULT_DELAY_MS = 5000


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    """A positive whole number from ``name``; a bad one is a clear error at start-up."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a whole number") from None
    if value < 1:
        raise ValueError(f"{name}={raw!r} must be positive")
    return value


class Tracing:
    def __init__(
        self, queue: SpanQueue, sampler: Sampler, exporter: OTLPSpanExporter | None = None
    ) -> None:
        self.drops = queue  # what is queued and what was dropped, counted
        self.queue, self.sampler, self.exporter = queue, sampler, exporter

    @classmethod
    def from_env(cls, service: str, env: Mapping[str, str]) -> Tracing:
        limit = _positive(env, "OTEL_BSP_MAX_QUEUE_SIZE", DEFAULT_QUEUE)
        batch = _positive(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", DEFAULT_BATCH)
        delay = _positive(env, "OTEL_BSP_SCHEDULE_DELAY", DEFAULT_DELAY_MS) / 1000
        # The exporter reads its endpoint, headers and timeout from OTEL_EXPORTER_OTLP_*.
        exporter = WireSpanExporter(_transport=keepalive_transport(env))
        return cls.exporting(
            service, exporter, limit, batch=batch, delay=delay, sampler=Sampler(env)
        )

    @classmethod
    def exporting(
        cls,
        service: str,
        exporter: OTLPSpanExporter,
        limit: int,
        *,
        batch: int = DEFAULT_BATCH,
        delay: float = DEFAULT_DELAY_MS / 1000,
        sampler: Sampler | None = None,
    ) -> Tracing:
        # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (read by Resource.create) win.
        encoder = RecordedEncoder(
            Resource.create({SERVICE_NAME: service}), InstrumentationScope("bdg")
        )

        def send(ended: Sequence[spans.Recorded]) -> bool:
            return post(exporter, encoder.request(ended), len(ended))

        return cls(SpanQueue(send, limit, batch, delay), sampler or Sampler({}), exporter)

    @property
    def dropped(self) -> int:
        return self.queue.dropped

    def span(
        self,
        name: str,
        attributes: Mapping[str, tracing.AttributeValue | None],
        parent: str | None,
        kind: tracing.Kind,
    ) -> spans.Unsampled:
        return spans.start(self.queue, self.sampler, name, attributes, parent, kind)

    def current_traceparent(self) -> str | None:
        span = spans.current()
        if span is None:
            return None
        return f"00-{span.trace_id:032x}-{span.span_id:016x}-{'01' if span.sampled else '00'}"

    def flush(self, within: float) -> bool:
        return self.queue.flush(within)

    def shutdown(self) -> None:
        self.queue.shutdown()
        if self.exporter is not None:
            self.exporter.shutdown()  # type: ignore[no-untyped-call]

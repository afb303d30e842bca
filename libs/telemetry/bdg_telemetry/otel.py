"""The OpenTelemetry SDK behind ``bdg_telemetry.tracing``: imported only when tracing is on.

Exporter, headers, timeout and service name come from the standard ``OTEL_*`` variables (read
by the SDK itself). Spans wait in a bounded queue (``OTEL_BSP_MAX_QUEUE_SIZE``, default 2048)
exported by the SDK's background thread; a span that finds the queue full, or whose export
failed (collector unreachable after the exporter's retries), is dropped and counted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from opentelemetry import context, trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from bdg_telemetry import tracing
from bdg_telemetry.otlp_wire import WireSpanExporter

log = logging.getLogger(__name__)
KINDS: dict[tracing.Kind, SpanKind] = {
    "internal": SpanKind.INTERNAL,
    "server": SpanKind.SERVER,
    "client": SpanKind.CLIENT,
    "consumer": SpanKind.CONSUMER,
    "producer": SpanKind.PRODUCER,
}
PROPAGATOR = TraceContextTextMapPropagator()
DEFAULT_QUEUE = 2048
DEFAULT_BATCH = 512  # the SDK's default


class Drops:
    """Spans in the queue and spans dropped; the exporter thread and handlers both count."""

    def __init__(self, limit: int) -> None:
        self.limit, self.queued, self.dropped = limit, 0, 0
        self._lock = threading.Lock()

    def admit(self) -> bool:
        with self._lock:
            if self.queued >= self.limit:
                self.dropped += 1
                return False
            self.queued += 1
            return True

    def left_queue(self, count: int, exported: bool) -> None:
        with self._lock:
            self.queued -= count
            if not exported:
                self.dropped += count
        if not exported:
            log.warning("trace export failed: %d span(s) dropped (%d so far)", count, self.dropped)


class CountingExporter(SpanExporter):
    def __init__(self, inner: SpanExporter, drops: Drops) -> None:
        self.inner, self.drops = inner, drops

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.inner.export(spans)
        except Exception:
            result = SpanExportResult.FAILURE
        self.drops.left_queue(len(spans), result is SpanExportResult.SUCCESS)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class BoundedProcessor(SpanProcessor):
    """Admits an ended span to the batch queue only while it holds fewer than the limit."""

    def __init__(self, inner: SpanProcessor, drops: Drops) -> None:
        self.inner, self.drops = inner, drops

    def on_end(self, span: ReadableSpan) -> None:
        if self.drops.admit():
            self.inner.on_end(span)

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class OtelSpan(tracing.Span):
    def __init__(self, inner: trace.Span) -> None:
        self.inner = inner

    def set(self, key: str, value: tracing.AttributeValue | None) -> None:
        if value is not None:
            self.inner.set_attribute(key, value)

    def rename(self, name: str) -> None:
        self.inner.update_name(name)


class Tracing:
    def __init__(self, provider: TracerProvider, drops: Drops) -> None:
        self.provider, self.drops = provider, drops
        self.tracer = provider.get_tracer("bdg")

    @classmethod
    def from_env(cls, service: str, env: Mapping[str, str]) -> Tracing:
        # The exporter reads its endpoint, headers and timeout from OTEL_EXPORTER_OTLP_*.
        limit = int(env.get("OTEL_BSP_MAX_QUEUE_SIZE") or DEFAULT_QUEUE)
        return cls.exporting(service, WireSpanExporter(), limit)

    @classmethod
    def exporting(cls, service: str, exporter: SpanExporter, limit: int) -> Tracing:
        drops = Drops(limit)
        # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (read by Resource.create) win.
        provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
        # The SDK's own queue is larger than ours: ours decides (and counts) what is dropped.
        batch = BatchSpanProcessor(
            CountingExporter(exporter, drops),
            max_queue_size=limit + 1,
            max_export_batch_size=min(limit, DEFAULT_BATCH),
        )
        provider.add_span_processor(BoundedProcessor(batch, drops))
        return cls(provider, drops)

    @property
    def dropped(self) -> int:
        return self.drops.dropped

    @contextmanager
    def span(
        self,
        name: str,
        attributes: Mapping[str, tracing.AttributeValue | None],
        parent: str | None,
        kind: tracing.Kind,
    ) -> Iterator[tracing.Span]:
        ctx = PROPAGATOR.extract({"traceparent": parent}) if parent else None
        attrs = {k: v for k, v in attributes.items() if v is not None}
        # start_span and attach, not start_as_current_span: the same span made current, without
        # its three nested context managers (a handler's span is most of tracing's CPU).
        current = self.tracer.start_span(name, context=ctx, kind=KINDS[kind], attributes=attrs)
        token = context.attach(trace.set_span_in_context(current, ctx))
        try:
            yield OtelSpan(current)
        except BaseException as error:
            # Cancellation is how a step gives up: recorded, as any other error.
            current.record_exception(error)
            current.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
            current.set_attribute("error.type", type(error).__name__)
            raise
        finally:
            context.detach(token)
            current.end()

    def current_traceparent(self) -> str | None:
        carrier: dict[str, str] = {}
        PROPAGATOR.inject(carrier, context.get_current())
        return carrier.get("traceparent")

    def flush(self, within: float) -> bool:
        return self.provider.force_flush(int(within * 1000))

    def shutdown(self) -> None:
        self.provider.shutdown()

"""The OpenTelemetry SDK behind ``bdg_telemetry.tracing``: imported only when tracing is on.

Exporter, headers, timeout and service name come from the standard ``OTEL_*`` variables (read
by the SDK itself). Spans wait in a bounded queue (``OTEL_BSP_MAX_QUEUE_SIZE``, default 2048)
exported by the SDK's background thread; a span that finds the queue full, or whose export
failed (collector unreachable after the exporter's retries), is dropped and counted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from types import TracebackType

from opentelemetry import context, trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from bdg_telemetry import tracing
from bdg_telemetry.otlp_wire import WireSpanExporter, keepalive_transport

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


class Current:
    """A span made current for a block: started and attached on entry, ended on exit."""

    __slots__ = ("attributes", "kind", "name", "parent", "span", "token", "tracer")

    def __init__(
        self,
        tracer: trace.Tracer,
        name: str,
        attributes: Mapping[str, tracing.AttributeValue | None],
        parent: str | None,
        kind: tracing.Kind,
    ) -> None:
        self.tracer, self.name, self.attributes = tracer, name, attributes
        self.parent, self.kind = parent, kind

    def __enter__(self) -> tracing.Span:
        ctx = PROPAGATOR.extract({"traceparent": self.parent}) if self.parent else None
        attrs = {k: v for k, v in self.attributes.items() if v is not None}
        # start_span and attach, not start_as_current_span: the same span made current, without
        # its three nested context managers (a handler's span is most of tracing's CPU).
        self.span = self.tracer.start_span(
            self.name, context=ctx, kind=KINDS[self.kind], attributes=attrs
        )
        self.token = context.attach(trace.set_span_in_context(self.span, ctx))
        return OtelSpan(self.span)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if error is not None:
                # Cancellation is how a step gives up: recorded, as any other error.
                self.span.record_exception(error)
                self.span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
                self.span.set_attribute("error.type", type(error).__name__)
        finally:
            context.detach(self.token)
            self.span.end()


class Tracing:
    def __init__(self, provider: TracerProvider, drops: Drops) -> None:
        self.provider, self.drops = provider, drops
        self.tracer = provider.get_tracer("bdg")

    @classmethod
    def from_env(cls, service: str, env: Mapping[str, str]) -> Tracing:
        # The exporter reads its endpoint, headers and timeout from OTEL_EXPORTER_OTLP_*.
        limit = int(env.get("OTEL_BSP_MAX_QUEUE_SIZE") or DEFAULT_QUEUE)
        exporter = WireSpanExporter(_transport=keepalive_transport(env))
        return cls.exporting(service, exporter, limit)

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

    def span(
        self,
        name: str,
        attributes: Mapping[str, tracing.AttributeValue | None],
        parent: str | None,
        kind: tracing.Kind,
    ) -> Current:
        return Current(self.tracer, name, attributes, parent, kind)

    def current_traceparent(self) -> str | None:
        # What TraceContextTextMapPropagator.inject writes, without its carrier and setter.
        ctx = trace.get_current_span().get_span_context()
        if not ctx.is_valid:
            return None
        return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{ctx.trace_flags:02x}"

    def flush(self, within: float) -> bool:
        return self.provider.force_flush(int(within * 1000))

    def shutdown(self) -> None:
        self.provider.shutdown()

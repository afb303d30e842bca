"""The hand-written OTLP encoder against the SDK's: both decoded by protobuf, compared."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from bdg_telemetry.otlp_wire import Unsupported, encode_request, keepalive_transport

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def finished() -> Iterator[tuple[trace.Tracer, InMemorySpanExporter]]:
    spans = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "wire", "n": 3}))
    provider.add_span_processor(SimpleSpanProcessor(spans))
    yield (
        provider.get_tracer("bdg", "1.0", schema_url="https://opentelemetry.io/schemas/1.26"),
        spans,
    )
    provider.shutdown()


def same_as_sdk(spans: tuple[ReadableSpan, ...]) -> None:
    ours = ExportTraceServiceRequest.FromString(encode_request(spans))
    assert ours == encode_spans(spans)


def test_spans_of_every_kind_attribute_type_status_and_event_decode_as_the_sdks(
    finished: tuple[trace.Tracer, InMemorySpanExporter],
) -> None:
    tracer, spans = finished
    remote = TraceContextTextMapPropagator().extract({"traceparent": PARENT})
    values = {
        "text": "héllo",
        "empty": "",
        "yes": True,
        "no": False,
        "zero": 0,
        "big": 2**62,
        "negative": -5,
        "ratio": 0.25,
        "words": ("a", "b"),
        "numbers": [1, -2, 3],
        "flags": [True, False],
    }
    with tracer.start_as_current_span("outer", context=remote, kind=SpanKind.CONSUMER) as outer:
        outer.set_attributes(values)
        with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT) as inner:
            inner.add_event("retry", {"attempt": 2})
            inner.set_status(Status(StatusCode.ERROR, "boom"))
        with tracer.start_as_current_span("ok", kind=SpanKind.SERVER) as ok:
            ok.set_status(Status(StatusCode.OK))
    for kind in (SpanKind.INTERNAL, SpanKind.PRODUCER):
        tracer.start_span("root", kind=kind).end()
    try:
        with tracer.start_as_current_span("failed"):
            raise ValueError("bad input")
    except ValueError:
        pass
    same_as_sdk(spans.get_finished_spans())


def test_what_only_the_sdk_writes_is_refused_not_written_wrong(
    finished: tuple[trace.Tracer, InMemorySpanExporter],
) -> None:
    tracer, spans = finished
    other = tracer.start_span("other")
    other.end()
    tracer.start_span("linked", links=[Link(other.get_span_context())]).end()
    with pytest.raises(Unsupported):
        encode_request(spans.get_finished_spans()[1:])
    tracer.start_span("map", attributes={"m": 1}).end()
    mapped = spans.get_finished_spans()[-1]
    same_as_sdk((mapped,))


def test_equal_values_of_different_types_are_written_as_their_own_type(
    finished: tuple[trace.Tracer, InMemorySpanExporter],
) -> None:
    tracer, spans = finished
    for value in (True, 1, 1.0, "1"):
        tracer.start_span("same key", attributes={"k": value}).end()
    same_as_sdk(spans.get_finished_spans())


def test_the_export_transport_takes_its_tls_files_from_the_otel_variables(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("read when a connection is made, not before")
    signal_wins = keepalive_transport(
        {"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE": str(ca), "OTEL_EXPORTER_OTLP_CERTIFICATE": "x"}
    )
    assert signal_wins._pool.connection_pool_kw["ca_certs"] == str(ca)
    plain = keepalive_transport({})
    assert plain._pool.connection_pool_kw["cert_reqs"] == "CERT_REQUIRED"
    assert "ca_certs" not in plain._pool.connection_pool_kw

"""Spans encoded straight into OTLP protobuf bytes (``ExportTraceServiceRequest``).

The SDK's encoder builds a protobuf object per span, attribute and value, then serialises
them: profiled, that was the largest part of a handler's tracing CPU (more than making the
span). Writing the wire format directly gives the same bytes a decoder reads back as the
SDK's message (tests/unit/test_otlp_wire.py decodes both and compares them), at a fraction of
the cost. Resource and scope are encoded by the SDK, once per batch. What this encoder does not
write (links, values of other types) sends the batch to the SDK's encoder instead.

Field numbers: opentelemetry/proto/trace/v1/trace.proto and common/v1/common.proto.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry.exporter.http.transport._urllib3 import Urllib3HTTPTransport
from opentelemetry.exporter.otlp.proto.common._internal import (
    _encode_instrumentation_scope,
    _encode_resource,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

if TYPE_CHECKING:
    from bdg_telemetry.spans import Recorded

_MASK64 = (1 << 64) - 1
_u64 = struct.Struct("<Q").pack
_HAS_IS_REMOTE, _IS_REMOTE = 0x100, 0x200  # SpanFlags


class Unsupported(Exception):
    """Something only the SDK's encoder writes."""


def _varint(n: int) -> bytes:
    n &= _MASK64  # int64: negative numbers take ten bytes, as protobuf writes them
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(tag: int, payload: bytes) -> bytes:
    """A length-delimited field; ``tag`` is (number << 3) | 2 and below 128."""
    n = len(payload)
    return bytes((tag, n)) + payload if n < 0x80 else bytes((tag,)) + _varint(n) + payload


def _value(value: Any) -> bytes:
    """An AnyValue (its oneof member written even when it holds the default)."""
    if value is None:
        return b""
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, str):
        return _field(0x0A, value.encode())
    if isinstance(value, int):
        return b"\x18" + _varint(value)
    if isinstance(value, float):
        return b"\x21" + struct.pack("<d", value)
    if isinstance(value, bytes):
        return _field(0x3A, value)
    if isinstance(value, Sequence):
        return _field(0x2A, b"".join(_field(0x0A, _value(v)) for v in value))
    raise Unsupported(type(value).__name__)


# KeyValues seen before (the same keys with the same few values, span after span), bounded.
_seen: dict[tuple[int, str, type, Any], bytes] = {}
_SEEN_MOST = 4096


def _key_value(tag: int, key: str, value: Any) -> bytes:
    known = (tag, key, type(value), value)  # True == 1 == 1.0: the type tells them apart
    try:
        return _seen[known]
    except KeyError:
        pass
    except TypeError:  # a list: not hashable, written each time
        return _field(tag, _field(0x0A, key.encode()) + _field(0x12, _value(value)))
    encoded = _field(tag, _field(0x0A, key.encode()) + _field(0x12, _value(value)))
    if len(_seen) >= _SEEN_MOST:
        _seen.clear()
    _seen[known] = encoded
    return encoded


def _attributes(tag: int, attributes: Mapping[str, Any] | None) -> bytes:
    if not attributes:
        return b""
    return b"".join([_key_value(tag, k, v) for k, v in attributes.items()])


def _count(tag: int, n: int) -> bytes:
    return bytes((tag,)) + _varint(n) if n else b""


def _span(span: ReadableSpan) -> bytes:
    if span.links:
        raise Unsupported("links")
    ctx, parent = span.get_span_context(), span.parent
    if ctx is None or span.start_time is None or span.end_time is None:
        raise Unsupported("a span not ended")
    out = [
        b"\x0a\x10" + ctx.trace_id.to_bytes(16, "big"),
        b"\x12\x08" + ctx.span_id.to_bytes(8, "big"),
    ]
    state = ",".join(f"{k}={v}" for k, v in ctx.trace_state.items())
    if state:
        out.append(_field(0x1A, state.encode()))
    if parent is not None:
        out.append(b"\x22\x08" + parent.span_id.to_bytes(8, "big"))
    out.append(_field(0x2A, span.name.encode()))
    out.append(b"\x30" + _varint(span.kind.value + 1))  # the proto's kinds start at 1
    out.append(b"\x39" + _u64(span.start_time))
    out.append(b"\x41" + _u64(span.end_time))
    out.append(_attributes(0x4A, span.attributes))
    out.append(_count(0x50, span.dropped_attributes))
    for event in span.events:
        body = b"\x09" + _u64(event.timestamp) + _field(0x12, event.name.encode())
        body += _attributes(0x1A, event.attributes) + _count(0x20, event.dropped_attributes)
        out.append(_field(0x5A, body))
    out.append(_count(0x60, span.dropped_events))
    status = span.status
    message = _field(0x12, status.description.encode()) if status.description else b""
    out.append(_field(0x7A, message + _count(0x18, status.status_code.value)))
    flags = _HAS_IS_REMOTE | (_IS_REMOTE if parent is not None and parent.is_remote else 0)
    out.append(b"\x85\x01" + struct.pack("<I", flags))
    return b"".join(out)


def encode_request(spans: Sequence[ReadableSpan]) -> bytes:
    """The request's bytes; raises Unsupported for what only the SDK's encoder writes."""
    groups: dict[int, tuple[Any, dict[int, tuple[Any, list[bytes]]]]] = {}
    for span in spans:
        resource, scope = span.resource, span.instrumentation_scope
        scopes = groups.setdefault(id(resource), (resource, {}))[1]
        scopes.setdefault(id(scope), (scope, []))[1].append(_field(0x12, _span(span)))
    out = []
    for resource, scopes in groups.values():
        body = _field(0x0A, _encode_resource(resource).SerializeToString())
        for scope, encoded in scopes.values():
            scoped = _field(0x0A, _encode_instrumentation_scope(scope).SerializeToString())
            scoped += b"".join(encoded)
            if scope is not None and scope.schema_url:
                scoped += _field(0x1A, scope.schema_url.encode())
            body += _field(0x12, scoped)
        if resource.schema_url:
            body += _field(0x1A, resource.schema_url.encode())
        out.append(_field(0x0A, body))
    return b"".join(out)


def _given_attributes(tag: int, attributes: Mapping[str, Any]) -> bytes:
    """Attributes as given; one of a type OTLP cannot carry is left out, not the span."""
    try:
        return _attributes(tag, attributes)
    except Unsupported:
        return _attributes(tag, {k: v for k, v in attributes.items() if _encodable(v)})


def _encodable(value: Any) -> bool:
    try:
        _value(value)
    except Unsupported:
        return False
    return True


def _recorded(span: Recorded) -> bytes:
    """One of our own spans (``spans``), written as ``_span`` writes the SDK's."""
    out = [
        b"\x0a\x10" + span.trace_id.to_bytes(16, "big"),
        b"\x12\x08" + span.span_id.to_bytes(8, "big"),
    ]
    if span.parent_id is not None:
        out.append(b"\x22\x08" + span.parent_id.to_bytes(8, "big"))
    out.append(_field(0x2A, span.name.encode()))
    out.append(b"\x30" + _varint(span.kind))
    out.append(b"\x39" + _u64(span.start))
    out.append(b"\x41" + _u64(span.end))
    out.append(_given_attributes(0x4A, span.attributes))
    for at, name, attributes in span.events:
        body = b"\x09" + _u64(at) + _field(0x12, name.encode())
        out.append(_field(0x5A, body + _given_attributes(0x1A, attributes)))
    for trace_id, span_id, attributes in span.links:
        body = b"\x0a\x10" + trace_id.to_bytes(16, "big") + b"\x12\x08" + span_id.to_bytes(8, "big")
        body += _given_attributes(0x22, attributes) + b"\x35" + struct.pack("<I", _HAS_IS_REMOTE)
        out.append(_field(0x6A, body))  # a link is to a span of ours: never remote
    message = _field(0x12, span.status_message.encode()) if span.status_message else b""
    out.append(_field(0x7A, message + _count(0x18, span.status_code)))
    flags = _HAS_IS_REMOTE | (_IS_REMOTE if span.remote_parent else 0)
    out.append(b"\x85\x01" + struct.pack("<I", flags))
    return b"".join(out)


class RecordedEncoder:
    """Requests for our own spans: resource and scope encoded once, by the SDK."""

    def __init__(self, resource: Resource, scope: InstrumentationScope) -> None:
        self.resource = _field(0x0A, _encode_resource(resource).SerializeToString())
        self.resource_schema = (
            _field(0x1A, resource.schema_url.encode()) if resource.schema_url else b""
        )
        self.scope = _field(0x0A, _encode_instrumentation_scope(scope).SerializeToString())

    def request(self, spans: Sequence[Recorded]) -> bytes:
        scoped = self.scope + b"".join([_field(0x12, _recorded(s)) for s in spans])
        return _field(0x0A, self.resource + _field(0x12, scoped) + self.resource_schema)


def post(exporter: OTLPSpanExporter, body: bytes, count: int) -> bool:
    """The request's bytes sent by the exporter's client (its endpoint, headers, TLS,
    compression, timeout and retries); False when they were not delivered."""
    if exporter._shutdown:
        return False
    with exporter._metrics.export_operation(count) as outcome:
        sent = exporter._client.export(body)
        if not sent.success:
            outcome.error = sent.error
            return False
    return True


class WireSpanExporter(OTLPSpanExporter):
    """The SDK's OTLP/HTTP exporter (its endpoint, headers, TLS, compression, retries, all from
    ``OTEL_*``), sending the bytes ``encode_request`` wrote."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            body = encode_request(spans)
        except Unsupported:
            return super().export(spans)
        sent = post(self, body, len(spans))
        return SpanExportResult.SUCCESS if sent else SpanExportResult.FAILURE


def keepalive_transport(env: Mapping[str, str] = os.environ) -> Urllib3HTTPTransport:
    """The SDK's urllib3 transport, TLS files taken from the same ``OTEL_*`` variables as the
    SDK's default (requests) one: half its CPU per export, measured (``bench/``)."""

    def first(*names: str) -> str | None:
        return next((env[n] for n in names if env.get(n)), None)

    ca = first("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE")
    key = first("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "OTEL_EXPORTER_OTLP_CLIENT_KEY")
    cert = first(
        "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"
    )
    return Urllib3HTTPTransport(verify=ca or True, cert=(cert, key) if cert and key else cert)

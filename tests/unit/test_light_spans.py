"""Our own light spans: parent and child ids, a bounded queue that drops and counts, a
shutdown that sends what is queued, sampled-out spans that record nothing, and requests that
decode as the SDK's encoder writes the same spans."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from bdg_telemetry.otel import Tracing
from bdg_telemetry.otlp_wire import RecordedEncoder
from bdg_telemetry.sampler import Sampler
from bdg_telemetry.span_queue import SpanQueue
from bdg_telemetry.spans import Recorded, Unsampled, parse_traceparent

pytestmark = pytest.mark.timeout(60)
TRACE, SPAN = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
PARENT = f"00-{TRACE}-{SPAN}-01"


class Sink:
    """Where the queue's batches go: kept, or held at a gate, or refused."""

    def __init__(self, sent: bool = True) -> None:
        self.batches: list[list[Recorded]] = []
        self.sent = sent
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, spans: Sequence[Recorded]) -> bool:
        self.gate.wait(30)
        self.batches.append(list(spans))
        return self.sent

    @property
    def names(self) -> list[str]:
        return [s.name for batch in self.batches for s in batch]


def traced(
    sink: Sink, limit: int = 100, batch: int = 10, env: dict[str, str] | None = None
) -> Tracing:
    # A minute between scheduled sends: within a test only a full batch or a flush sends.
    return Tracing(SpanQueue(sink, limit, batch, 60.0), Sampler(env or {}))


@pytest.fixture(name="sink")
def sink_fixture() -> Iterator[Sink]:
    sink = Sink()
    yield sink
    sink.gate.set()


def test_a_child_continues_its_parents_trace_and_the_current_span_is_restored(
    sink: Sink,
) -> None:
    spans = traced(sink)
    with spans.span("outer", {"a": 1, "none": None}, PARENT, "consumer") as outer:
        assert isinstance(outer, Recorded)
        with spans.span("inner", {}, None, "client") as inner:
            assert isinstance(inner, Recorded)
        with spans.span("sibling", {}, None, "internal") as sibling:
            assert isinstance(sibling, Recorded)
    with spans.span("root", {}, None, "server") as root:
        assert isinstance(root, Recorded)
    assert spans.flush(10)
    assert (f"{outer.trace_id:032x}", f"{outer.parent_id:016x}") == (TRACE, SPAN)
    assert outer.remote_parent
    assert not inner.remote_parent
    assert (inner.trace_id, inner.parent_id) == (outer.trace_id, outer.span_id)
    assert (sibling.trace_id, sibling.parent_id) == (outer.trace_id, outer.span_id)
    assert len({outer.span_id, inner.span_id, sibling.span_id}) == 3
    assert root.parent_id is None
    assert root.trace_id != outer.trace_id
    assert outer.attributes == {"a": 1}
    assert sink.names == ["inner", "sibling", "outer", "root"]
    assert all(s.start <= s.end for s in (outer, inner, sibling, root))
    spans.shutdown()


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "garbage",
        f"ff-{TRACE}-{SPAN}-01",  # version ff is invalid
        f"00-{'0' * 32}-{SPAN}-01",
        f"00-{TRACE}-{'0' * 16}-01",
        f"00-{TRACE}-{SPAN}-01-extra",  # version 00 has nothing after the flags
        f"00-{TRACE.upper()}-{SPAN}-01",
    ],
)
def test_an_invalid_traceparent_starts_a_new_trace(sink: Sink, bad: str) -> None:
    assert parse_traceparent(bad) is None
    spans = traced(sink)
    with (
        spans.span("outer", {}, None, "internal") as outer,
        spans.span("fresh", {}, bad or "x", "internal") as fresh,
    ):
        assert isinstance(outer, Recorded)
        assert isinstance(fresh, Recorded)
    assert fresh.parent_id is None
    assert fresh.trace_id != outer.trace_id
    spans.shutdown()


def test_a_full_queue_drops_and_counts_and_never_waits(sink: Sink) -> None:
    sink.gate.clear()  # the collector holds the first batch: nothing leaves the queue
    spans = traced(sink, limit=2, batch=1)
    for n in range(6):
        with spans.span(f"s{n}", {}, None, "internal"):
            pass
    # Spans being sent count against the bound: two admitted, four dropped at once.
    assert (spans.drops.queued, spans.dropped) == (2, 4)
    sink.gate.set()
    assert spans.flush(10)
    assert (sink.names, spans.drops.queued, spans.dropped) == (["s0", "s1"], 0, 4)
    spans.shutdown()


def test_a_failed_or_raising_send_drops_and_counts_the_batch() -> None:
    refused = traced(Sink(sent=False))

    def raising(spans: Sequence[Recorded]) -> bool:
        raise ConnectionError("collector gone")

    broken = Tracing(SpanQueue(raising, 100, 10, 60.0), Sampler({}))
    for spans in (refused, broken):
        for _ in range(3):
            with spans.span("s", {}, None, "internal"):
                pass
        assert spans.flush(10)
        assert (spans.drops.queued, spans.dropped) == (0, 3)
        spans.shutdown()


def test_shutdown_sends_what_is_queued_and_drops_what_ends_after(sink: Sink) -> None:
    spans = traced(sink, batch=100)
    for n in range(3):
        with spans.span(f"s{n}", {}, None, "internal"):
            pass
    assert sink.batches == []  # no full batch, no flush, a minute to wait: still queued
    spans.shutdown()
    assert sink.names == ["s0", "s1", "s2"]
    with spans.span("late", {}, None, "internal"):
        pass
    assert (spans.drops.queued, spans.dropped) == (0, 1)
    assert spans.flush(1)  # stopped: nothing left to send


def test_an_error_is_recorded_on_its_span_and_goes_on(sink: Sink) -> None:
    spans = traced(sink)
    with pytest.raises(KeyError), spans.span("failing", {}, None, "internal") as failing:
        raise KeyError("missing")
    assert isinstance(failing, Recorded)
    assert (failing.status_code, failing.status_message) == (2, "KeyError: 'missing'")
    assert failing.attributes == {"error.type": "KeyError"}
    [(_, name, attributes)] = failing.events
    assert name == "exception"
    assert attributes["exception.type"] == "KeyError"
    assert "raise KeyError" in str(attributes["exception.stacktrace"])
    spans.shutdown()


def test_sampled_out_spans_record_nothing_and_pass_the_decision_on(sink: Sink) -> None:
    spans = traced(sink, env={"OTEL_TRACES_SAMPLER": "parentbased_always_off"})
    with spans.span("root", {"a": 1}, None, "server") as root:
        root.set("b", 2)
        root.rename("renamed")
        child = spans.span("child", {}, None, "internal")
        unsampled_parent = spans.current_traceparent()
    # A sampled remote parent is followed, unsampled spans under it or not.
    with spans.span("followed", {}, PARENT, "consumer") as followed:
        pass
    assert type(root) is Unsampled
    assert type(child) is Unsampled
    assert not hasattr(root, "attributes")
    assert not hasattr(root, "name")
    assert child.trace_id == root.trace_id
    assert unsampled_parent == f"00-{root.trace_id:032x}-{root.span_id:016x}-00"
    assert isinstance(followed, Recorded)
    assert spans.flush(10)
    assert (sink.names, spans.dropped) == (["followed"], 0)
    spans.shutdown()


@pytest.mark.parametrize(
    ("env", "low", "high"),
    [
        ({}, True, True),
        ({"OTEL_TRACES_SAMPLER": "always_off"}, False, False),
        ({"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.5"}, True, False),
        ({"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "x"}, True, True),
        ({"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"}, True, True),
        ({"OTEL_TRACES_SAMPLER": "jaeger_remote"}, True, True),  # unknown: the default
    ],
)
def test_the_sampler_decides_by_trace_id_as_the_sdk(
    env: dict[str, str], low: bool, high: bool
) -> None:
    sampler = Sampler(env)
    assert sampler.sampled(0x1234 << 64 | 1, None) is low
    assert sampler.sampled(0x1234 << 64 | (1 << 64) - 1, None) is high


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OTEL_BSP_MAX_QUEUE_SIZE", "many"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "0"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "-1"),
        ("OTEL_BSP_SCHEDULE_DELAY", "1.5"),
    ],
)
def test_a_bad_queue_setting_is_a_clear_error_at_start(name: str, value: str) -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", name: value}
    before = {t.name for t in threading.enumerate()}
    with pytest.raises(ValueError, match=name):
        Tracing.from_env("probe", env)
    assert {t.name for t in threading.enumerate()} == before  # no export thread started
    with pytest.raises(ValueError, match="positive"):
        SpanQueue(Sink(), 0, 1, 1.0)


def test_requests_decode_as_the_sdks_encoding_of_the_same_spans(sink: Sink) -> None:
    spans = traced(sink)
    with spans.span("outer", {"text": "héllo", "n": -5, "ok": True, "r": 0.5}, PARENT, "consumer"):
        with spans.span("chat gpt-4o", {"gen_ai.request.model": "gpt-4o"}, None, "client") as c:
            c.set("gen_ai.usage.input_tokens", 12)
        with (
            pytest.raises(ValueError, match="bad input"),
            spans.span("failing", {}, None, "producer"),
        ):
            raise ValueError("bad input")
    assert spans.flush(10)
    spans.shutdown()
    ours = sink.batches[0]
    assert isinstance(ours[0], Recorded)
    ours[0].links.append((outer_trace := ours[0].trace_id, ours[0].span_id, {"why": "retry"}))
    resource = Resource.create({"service.name": "wire"})
    scope = InstrumentationScope("bdg")
    encoded = RecordedEncoder(resource, scope).request(ours)
    sdk = encode_spans([_as_sdk_span(s, resource, scope) for s in ours])
    assert ExportTraceServiceRequest.FromString(encoded) == sdk
    assert outer_trace == int(TRACE, 16)


def _as_sdk_span(span: Recorded, resource: Resource, scope: InstrumentationScope) -> ReadableSpan:
    def context(trace_id: int, span_id: int, remote: bool) -> SpanContext:
        return SpanContext(trace_id, span_id, remote, TraceFlags(TraceFlags.SAMPLED))

    parent = (
        None
        if span.parent_id is None
        else context(span.trace_id, span.parent_id, span.remote_parent)
    )
    code = {0: StatusCode.UNSET, 1: StatusCode.OK, 2: StatusCode.ERROR}[span.status_code]
    return ReadableSpan(
        name=span.name,
        context=context(span.trace_id, span.span_id, False),
        parent=parent,
        resource=resource,
        attributes=span.attributes,
        events=[Event(name, attributes, at) for at, name, attributes in span.events],
        links=[Link(context(t, s, False), a) for t, s, a in span.links],
        kind=SpanKind(span.kind - 1),
        status=Status(code, span.status_message or None),
        start_time=span.start,
        end_time=span.end,
        instrumentation_scope=scope,
    )

"""Spans leave over OTLP/HTTP to a real (test-owned) receiver that decodes the protobuf; a
collector that is not there, or a queue that is full, drops spans and counts them, never
holding the code that made them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

from bdg_telemetry import tracing as module
from bdg_telemetry.otel import Tracing
from tests.otlp_receiver import Receiver, otlp_receiver
from tests.ports import free_port
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(name="receiver")
def receiver_fixture() -> Iterator[Receiver]:
    with otlp_receiver() as receiver:
        yield receiver


def test_a_child_span_and_its_attributes_reach_the_receiver(receiver: Receiver) -> None:
    exporter = OTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces", timeout=5)
    tracing = Tracing.exporting("probe", exporter, limit=100)
    parent = "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"
    with tracing.span("outer", {"bdg.job_id": "j1", "skipped": None}, parent, "consumer") as span:
        span.set("gen_ai.usage.input_tokens", 12)
        span.rename("process JobRequested")
        with tracing.span("chat gpt-4o-mini", {}, None, "client"):
            inner = tracing.current_traceparent()
    with pytest.raises(RuntimeError), tracing.span("failing", {}, None, "internal"):
        raise RuntimeError("boom")
    tracing.shutdown()  # exports what is queued
    spans = {s.name: s for s in receiver.received()}
    assert set(spans) == {"process JobRequested", "chat gpt-4o-mini", "failing"}
    outer, chat = spans["process JobRequested"], spans["chat gpt-4o-mini"]
    assert (outer.trace_id, outer.parent_span_id) == ("ab" * 16, "cd" * 8)
    assert (chat.trace_id, chat.parent_span_id) == (outer.trace_id, outer.span_id)
    assert inner == f"00-{chat.trace_id}-{chat.span_id}-01"
    assert outer.attributes == {"bdg.job_id": "j1", "gen_ai.usage.input_tokens": 12}
    assert outer.service == "probe"
    assert spans["failing"].attributes["error.type"] == "RuntimeError"
    assert tracing.dropped == 0


def test_an_unreachable_collector_drops_and_counts_spans() -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/v1/traces"
    tracing = Tracing.exporting("probe", OTLPSpanExporter(endpoint=nowhere, timeout=0.5), 5)
    for n in range(20):  # far more than the queue holds: the rest are dropped at once
        with tracing.span(f"s{n}", {}, None, "internal"):
            pass
    assert tracing.dropped >= 15
    tracing.shutdown()
    # Those queued were sent and failed: dropped too, every one counted once.
    wait_until(lambda: tracing.dropped == 20, 10, "every span counted as dropped")
    assert tracing.drops.queued == 0


def test_flush_exports_at_once_and_paused_makes_no_span(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "60000")  # only a flush sends within the test
    assert module.setup("probe")
    try:
        with module.span("before", {}):
            pass
        with module.paused():
            assert not module.enabled()
            with module.span("while paused", {}) as span:
                assert span is module.NO_SPAN
        assert module.enabled()
        with module.span("after", {}):
            pass
        assert module.flush(10)
        assert sorted(s.name for s in receiver.received()) == ["after", "before"]
    finally:
        module.shutdown(10)
    assert module.flush() is True  # off: nothing to send

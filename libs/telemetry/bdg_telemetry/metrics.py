"""Every process's Prometheus metrics, and the endpoint they are scraped from.

Names here are what ``ops/grafana/bdg.json`` queries (a test holds the two together). Each
carries the ``service`` label, so processes scraped under one job still tell apart. Counting
is cheap (a lock and an add), so it is always on; the endpoint is served only when
``BDG_METRICS_PORT`` is set.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server
from prometheus_client.metrics_core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from bdg_telemetry import tracing

log = logging.getLogger(__name__)
# Steps last from milliseconds (a reaction) to minutes (an attempt installing and testing).
STEP_BUCKETS = (0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)

EVENTS_HANDLED = Counter(
    "bdg_events_handled",
    "Deliveries handled, by outcome (ok, retry, dead_letter)",
    ["service", "event", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "bdg_handler_seconds",
    "Time a handler took on one delivery",
    ["service", "event"],
    buckets=STEP_BUCKETS,
)
REDELIVERIES = Counter(
    "bdg_redeliveries", "Deliveries after the first (retries and crashes)", ["service", "event"]
)
DEAD_LETTERS = Counter("bdg_dead_letters", "Messages dead-lettered", ["service", "event"])
CONSUMER_PENDING = Gauge(
    "bdg_consumer_pending",
    "Messages in the stream not yet delivered to the consumer (queue lag)",
    ["service", "consumer"],
)
CONSUMER_ACK_PENDING = Gauge(
    "bdg_consumer_ack_pending",
    "Messages delivered to the consumer and not yet acknowledged",
    ["service", "consumer"],
)
SANDBOX_EXECS = Counter(
    "bdg_sandbox_execs", "Commands run in the sandbox, by outcome", ["service", "outcome"]
)
SANDBOX_EXEC_SECONDS = Histogram(
    "bdg_sandbox_exec_seconds", "Time a sandbox exec took", ["service"], buckets=STEP_BUCKETS
)
MODEL_TOKENS = Counter(
    "bdg_model_tokens", "Model tokens, by direction (input, output)", ["service", "model", "type"]
)
MODEL_COST = Counter("bdg_model_cost_usd", "Model spend in USD", ["service", "model", "operation"])
MODEL_CALLS = Counter(
    "bdg_model_calls", "Model calls, by outcome", ["service", "model", "operation", "outcome"]
)
JOBS = Gauge("bdg_jobs", "Jobs per state (from the gateway's read model)", ["state"])

_service = "unknown"


def service() -> str:
    return _service


def name_service(name: str) -> None:
    global _service
    _service = name


class DroppedSpans(Collector):
    """Read from the tracer at scrape time: no bookkeeping on the span's path."""

    def collect(self) -> Iterable[Metric]:
        yield CounterMetricFamily(
            "bdg_trace_spans_dropped",
            "Spans dropped (queue full or export failed)",
            value=tracing.dropped_spans(),
        )


_served: tuple[str, int] | None = None


def serve(host: str, port: int | None) -> tuple[str, int] | None:
    """Serve /metrics on ``host:port`` (port 0: any free one, logged); no port: not served.
    Once per process; returns where. A port that cannot be bound is logged as an error and the
    service works on without its endpoint: metrics never stop jobs."""
    global _served
    if _served is not None or port is None:
        return _served
    try:
        server, _ = start_http_server(port, addr=host)
    except OSError as error:
        log.error("cannot serve metrics on %s:%d: %s; running without /metrics", host, port, error)
        return None
    REGISTRY.register(DroppedSpans())
    _served = (host, server.server_port)
    log.info("metrics at http://%s:%d/metrics", *_served)
    return _served

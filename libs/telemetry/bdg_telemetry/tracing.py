"""Spans around requests, handler runs, model calls, tool calls and sandbox execs.

Off unless an OTLP endpoint is configured by the standard ``OTEL_*`` variables; off, no
OpenTelemetry module is imported and every ``span`` is a shared do-nothing object, so tracing
costs one global read per span. On, ``bdg_telemetry.otel`` records our own light spans
(``bdg_telemetry.spans``) into a bounded queue exported by a background thread: a slow or
unreachable collector never holds a handler.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from bdg_telemetry.otel import Tracing

AttributeValue = str | int | float | bool
Kind = Literal["internal", "server", "client", "consumer", "producer"]

_tracing: Tracing | None = None


class Span:
    """What a caller may do with its span; this base does nothing (tracing off)."""

    __slots__ = ()  # ``bdg_telemetry.spans`` are slotted too

    def set(self, key: str, value: AttributeValue | None) -> None:
        return None

    def rename(self, name: str) -> None:
        """Once the name is known (a request's route, after routing)."""
        return None


NO_SPAN = Span()
_OFF = nullcontext(NO_SPAN)  # reusable: it holds no state


def configured(env: Mapping[str, str] = os.environ) -> bool:
    """Tracing is on when an OTLP endpoint is set and neither the SDK nor the traces exporter
    is switched off (``OTEL_SDK_DISABLED=true``, ``OTEL_TRACES_EXPORTER=none``)."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = env.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower()
    if "otlp" not in {e.strip() for e in exporters.split(",")}:
        return False
    return bool(
        env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    )


def setup(service: str, env: Mapping[str, str] = os.environ) -> bool:
    """Start tracing for this process (once) if configured; says whether it is on.

    ``service`` names the process unless ``OTEL_SERVICE_NAME`` does."""
    global _tracing
    if _tracing is not None:
        return True
    if not configured(env):
        return False
    from bdg_telemetry.otel import Tracing  # the SDK is imported only now

    _tracing = Tracing.from_env(service, env)
    return True


def enabled() -> bool:
    return _tracing is not None


def shutdown(within: float | None = None) -> None:
    """Stop, exporting what is queued; ``within`` seconds at most (a collector that is away
    must not hold a stopping service), after which the rest is left to a daemon thread."""
    global _tracing
    if _tracing is None:
        return
    stopping, _tracing = _tracing, None
    exporting = threading.Thread(target=stopping.shutdown, name="otel-shutdown", daemon=True)
    exporting.start()
    exporting.join(within)


@contextmanager
def paused() -> Iterator[None]:
    """Tracing off within the block, its exporter kept for after (a benchmark compares off and
    on in one process without paying a new exporter's connection on every switch)."""
    global _tracing
    kept, _tracing = _tracing, None
    try:
        yield
    finally:
        _tracing = kept


def flush(within: float = 30.0) -> bool:
    """Export what is queued now (waiting ``within`` seconds at most); True when off."""
    return True if _tracing is None else _tracing.flush(within)


def span(
    name: str,
    attributes: Mapping[str, AttributeValue | None] | None = None,
    *,
    parent: str | None = None,
    kind: Kind = "internal",
) -> AbstractContextManager[Span]:
    """A span around the block, child of the current span, or of ``parent`` (a W3C
    traceparent, from an event or a request) when given. An exception leaving the block is
    recorded on the span and goes on. (A context manager object, not a generator: one layer
    less on every span, and nothing made at all when off.)"""
    if _tracing is None:
        return _OFF
    return _tracing.span(name, attributes or {}, parent, kind)


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, for an event to carry; None when off."""
    return None if _tracing is None else _tracing.current_traceparent()


def dropped_spans() -> int:
    return 0 if _tracing is None else _tracing.dropped

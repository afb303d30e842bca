"""Our own light spans: what a handler pays for tracing is a slotted object and a queue append.

Profiled, most of a traced handler's tracing CPU was the OpenTelemetry SDK's span machinery
(span start through the sampler API, attribute cleaning, span processors, its context
objects). A span here is one slotted object holding what the OTLP wire format needs (ids,
parent, kind, times, attributes as given, status, events, links); the current span lives in
one ``ContextVar``. An ended span goes to a ``SpanQueue`` (``span_queue``), whose thread has it
encoded (``otlp_wire``) and sent. A span the sampler leaves out records nothing, is never queued.
"""

from __future__ import annotations

import random
import re
import time
import traceback
from collections.abc import Mapping
from contextvars import ContextVar, Token
from types import TracebackType
from typing import TYPE_CHECKING

from bdg_telemetry import tracing

if TYPE_CHECKING:
    from bdg_telemetry.sampler import Sampler
    from bdg_telemetry.span_queue import SpanQueue

# The OTLP proto's SpanKind numbers (trace.proto: INTERNAL = 1 ... CONSUMER = 5).
KINDS: dict[tracing.Kind, int] = {
    "internal": 1,
    "server": 2,
    "client": 3,
    "producer": 4,
    "consumer": 5,
}
UNSET, OK, ERROR = 0, 1, 2  # the proto's StatusCode
# W3C trace-context, as the SDK's propagator reads it (version ff and zero ids are invalid).
_TRACEPARENT = re.compile(
    r"^\s*([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?\s*$"
)
# As the SDK's RandomIdGenerator: the module's generator, which Python reseeds after a fork.
_bits = random.getrandbits

Event = tuple[int, str, dict[str, tracing.AttributeValue]]
Link = tuple[int, int, dict[str, tracing.AttributeValue]]


class Parent:
    """A span context from elsewhere (a traceparent in an event or a request)."""

    __slots__ = ("sampled", "span_id", "trace_id")

    def __init__(self, trace_id: int, span_id: int, sampled: bool) -> None:
        self.trace_id, self.span_id, self.sampled = trace_id, span_id, sampled


def parse_traceparent(value: str) -> Parent | None:
    """The parent a traceparent names; None when it is not a valid one (a new trace starts)."""
    found = _TRACEPARENT.match(value)
    if found is None:
        return None
    version, trace_hex, span_hex, flags, rest = found.groups()
    if version == "ff" or (version == "00" and rest):
        return None
    trace_id, span_id = int(trace_hex, 16), int(span_hex, 16)
    if not trace_id or not span_id:
        return None
    return Parent(trace_id, span_id, bool(int(flags, 16) & 1))


_current: ContextVar[Unsampled | None] = ContextVar("bdg_current_span", default=None)


def current() -> Unsampled | None:
    return _current.get()


class Unsampled(tracing.Span):
    """A span the sampler left out: it carries its ids (children and traceparents continue the
    trace, unsampled) and records nothing."""

    __slots__ = ("_token", "sampled", "span_id", "trace_id")

    def __init__(self, trace_id: int, span_id: int) -> None:
        self.trace_id, self.span_id, self.sampled = trace_id, span_id, False

    def __enter__(self) -> tracing.Span:
        self._token: Token[Unsampled | None] = _current.set(self)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _current.reset(self._token)


class Recorded(Unsampled):
    """A sampled span: recorded while current, queued for export when it ends."""

    __slots__ = (
        "attributes",
        "end",
        "events",
        "kind",
        "links",
        "name",
        "parent_id",
        "queue",
        "remote_parent",
        "start",
        "status_code",
        "status_message",
    )

    def __init__(
        self,
        queue: SpanQueue,
        name: str,
        trace_id: int,
        span_id: int,
        parent: Unsampled | Parent | None,
        kind: int,
        attributes: dict[str, tracing.AttributeValue],
    ) -> None:
        self.trace_id, self.span_id, self.sampled = trace_id, span_id, True
        self.queue, self.name, self.kind, self.attributes = queue, name, kind, attributes
        self.parent_id = None if parent is None else parent.span_id
        self.remote_parent = type(parent) is Parent
        self.events: list[Event] = []
        self.links: list[Link] = []
        self.status_code, self.status_message = UNSET, ""
        self.start = time.time_ns()
        self.end = 0

    def set(self, key: str, value: tracing.AttributeValue | None) -> None:
        if value is not None:
            self.attributes[key] = value

    def rename(self, name: str) -> None:
        self.name = name

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if error is not None:
                # Cancellation is how a step gives up: recorded, as any other error.
                self.record_error(error)
        finally:
            _current.reset(self._token)
            self.end = time.time_ns()
            self.queue.add(self)

    def record_error(self, error: BaseException) -> None:
        """The SDK's ``record_exception`` event, an ERROR status and ``error.type``."""
        cls = type(error)
        module = cls.__module__
        qualified = f"{module}.{cls.__qualname__}" if module and module != "builtins" else None
        self.events.append(
            (
                time.time_ns(),
                "exception",
                {
                    "exception.type": qualified or cls.__qualname__,
                    "exception.message": str(error),
                    "exception.stacktrace": "".join(traceback.format_exception(error)),
                    "exception.escaped": "False",
                },
            )
        )
        self.status_code, self.status_message = ERROR, f"{cls.__name__}: {error}"
        self.attributes["error.type"] = cls.__name__


def start(
    queue: SpanQueue,
    sampler: Sampler,
    name: str,
    attributes: Mapping[str, tracing.AttributeValue | None],
    parent: str | None,
    kind: tracing.Kind,
) -> Unsampled:
    """A span, not yet current (its ``with`` makes it so), child of ``parent`` when that is a
    valid traceparent, else of the current span; a new trace when neither."""
    above: Unsampled | Parent | None = parse_traceparent(parent) if parent else _current.get()
    trace_id = above.trace_id if above is not None else (_bits(128) or 1)
    span_id = _bits(64) or 1
    if not sampler.sampled(trace_id, above):
        return Unsampled(trace_id, span_id)
    given = {k: v for k, v in attributes.items() if v is not None}
    return Recorded(queue, name, trace_id, span_id, above, KINDS[kind], given)

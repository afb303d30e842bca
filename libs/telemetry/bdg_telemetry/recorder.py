"""Our own light spans: what a handler pays for tracing is a slotted object and a queue append.

Profiled, most of a traced handler's tracing CPU was the OpenTelemetry SDK's span machinery
(span start through the sampler API, attribute cleaning, span processors, its context
objects). A span here is one slotted object holding what the OTLP wire format needs (ids,
parent, kind, times, attributes as given, status, events, links); the current span lives in
one ``ContextVar``. An ended span goes to a bounded queue; a background thread hands batches to
``send`` (``bdg_telemetry.otel`` encodes them with ``otlp_wire`` and posts them with the SDK's
OTLP/HTTP transport). A span the sampler leaves out records nothing and is never queued.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar, Token
from types import TracebackType

from bdg_telemetry import tracing

log = logging.getLogger(__name__)
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
        "recorder",
        "remote_parent",
        "start",
        "status_code",
        "status_message",
    )

    def __init__(
        self,
        recorder: Recorder,
        name: str,
        trace_id: int,
        span_id: int,
        parent: Unsampled | Parent | None,
        kind: int,
        attributes: dict[str, tracing.AttributeValue],
    ) -> None:
        self.trace_id, self.span_id, self.sampled = trace_id, span_id, True
        self.recorder, self.name, self.kind, self.attributes = recorder, name, kind, attributes
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
            self.recorder.add(self)

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


class Sampler:
    """``OTEL_TRACES_SAMPLER`` and ``OTEL_TRACES_SAMPLER_ARG``, the SDK's built-in samplers:
    ``always_on``, ``always_off``, ``traceidratio`` and their ``parentbased_`` forms (the
    default: ``parentbased_always_on``). Parent-based follows the parent's sampled flag."""

    KNOWN = ("always_on", "always_off", "traceidratio")

    def __init__(self, env: Mapping[str, str]) -> None:
        name = env.get("OTEL_TRACES_SAMPLER", "parentbased_always_on").strip().lower()
        root = name.removeprefix("parentbased_")
        if root not in self.KNOWN:
            log.warning("unknown OTEL_TRACES_SAMPLER %r: parentbased_always_on", name)
            name, root = "parentbased_always_on", "always_on"
        self.parent_based = name.startswith("parentbased_")
        rate = 1.0 if root == "always_on" else 0.0
        if root == "traceidratio":
            try:
                rate = float(env.get("OTEL_TRACES_SAMPLER_ARG", ""))
            except ValueError:
                log.warning("OTEL_TRACES_SAMPLER_ARG is not a number: rate 1.0")
                rate = 1.0
            if not 0.0 <= rate <= 1.0:
                log.warning("OTEL_TRACES_SAMPLER_ARG %s is outside [0, 1]: rate 1.0", rate)
                rate = 1.0
        # As the SDK's TraceIdRatioBased: the trace id's low 64 bits below rate * 2**64.
        self.bound = round(rate * (1 << 64))

    def sampled(self, trace_id: int, parent: Unsampled | Parent | None) -> bool:
        if parent is not None and self.parent_based:
            return parent.sampled
        return (trace_id & 0xFFFFFFFFFFFFFFFF) < self.bound


class Recorder:
    """Ended spans in a bounded queue (spans being exported count against the bound), sent
    in batches by one daemon thread every ``delay`` seconds, when a batch is full, or when
    flushed. A span finding the queue full, or in a batch whose send failed, is dropped and
    counted; nothing ever waits for the collector but ``flush`` and ``shutdown``."""

    def __init__(
        self,
        send: Callable[[Sequence[Recorded]], bool],
        limit: int,
        batch: int,
        delay: float,
        sampler: Sampler,
    ) -> None:
        if limit < 1 or batch < 1 or delay <= 0:
            raise ValueError(f"queue {limit}, batch {batch} and delay {delay} must be positive")
        self.send, self.limit, self.batch, self.delay = send, limit, min(batch, limit), delay
        self.sampler = sampler
        self.queued = 0  # waiting or being sent
        self.dropped = 0
        self._waiting: list[Recorded] = []
        self._flushes: list[threading.Event] = []
        self._stopping = False
        self._wake = threading.Condition(threading.Lock())
        self._thread = threading.Thread(target=self._run, name="bdg-span-export", daemon=True)
        self._thread.start()

    def span(
        self,
        name: str,
        attributes: Mapping[str, tracing.AttributeValue | None],
        parent: str | None,
        kind: tracing.Kind,
    ) -> Unsampled:
        """A span, not yet current (its ``with`` makes it so), child of ``parent`` when that
        is a valid traceparent, else of the current span; a new trace when neither."""
        above: Unsampled | Parent | None = parse_traceparent(parent) if parent else _current.get()
        trace_id = above.trace_id if above is not None else (_bits(128) or 1)
        span_id = _bits(64) or 1
        if not self.sampler.sampled(trace_id, above):
            return Unsampled(trace_id, span_id)
        given = {k: v for k, v in attributes.items() if v is not None}
        return Recorded(self, name, trace_id, span_id, above, KINDS[kind], given)

    def add(self, span: Recorded) -> None:
        with self._wake:
            if self.queued >= self.limit or self._stopping:
                self.dropped += 1
                return
            self.queued += 1
            self._waiting.append(span)
            if len(self._waiting) == self.batch:
                self._wake.notify()

    def flush(self, within: float) -> bool:
        """Send every span ended before now; False if that took longer than ``within``."""
        done = threading.Event()
        with self._wake:
            if not self._thread.is_alive():
                return self.queued == 0
            self._flushes.append(done)
            self._wake.notify()
        return done.wait(within)

    def shutdown(self) -> None:
        """Send what is queued, then stop the thread (spans ended after are dropped)."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._wake:
                if not (self._stopping or self._flushes or len(self._waiting) >= self.batch):
                    self._wake.wait(self.delay)
                taken, self._waiting = self._waiting, []
                flushes, self._flushes = self._flushes, []
                stopping = self._stopping
            for start in range(0, len(taken), self.batch):
                self._send(taken[start : start + self.batch])
            for done in flushes:
                done.set()
            if stopping:
                return

    def _send(self, spans: Sequence[Recorded]) -> None:
        try:
            sent = self.send(spans)
        except Exception:
            log.exception("trace export raised")
            sent = False
        with self._wake:
            self.queued -= len(spans)
            if not sent:
                self.dropped += len(spans)
        if not sent:
            log.warning(
                "trace export failed: %d span(s) dropped (%d so far)", len(spans), self.dropped
            )

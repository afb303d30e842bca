"""Re-run a recorded job's handlers against what the log recorded, and find where they differ.

The new run happens in a private in-memory store: the log's inputs (users' commands, and the
reactions of services that cannot be re-run) are copied in as they were; at each point where a
re-runnable service reacted, its handler runs again (model answers from the recorded LlmCalled
events, the clock at the recorded time) and what it appends is compared with what it appended
then. The first difference is the report: a regression test of prompts and code from
production logs.

Each service is rebuilt with the settings the job recorded for it (``SettingsRecorded``: its
loop limits, its critic bar...; none recorded: its defaults), never with the replaying
environment's: a replay from a shell set up otherwise checks the same run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bdg_contracts.base import Event
from bdg_contracts.events import JobRequested, LlmCalled, SettingsRecorded
from bdg_jobs.application import JobApplication
from bdg_jobs.store import JobStore
from bdg_llm.replay import ReplayLlm
from bdg_runtime.reactions import AnyReaction

# Envelope fields that differ between two runs of the same decision by construction.
RUN_FIELDS = frozenset({"event_id", "occurred_at", "causation_id", "traceparent"})


@dataclass(frozen=True)
class ReplaySources:
    """What a service's handlers are rebuilt from for a replay."""

    history: Sequence[Event]
    llm: ReplayLlm
    settings: Mapping[str, str] = field(default_factory=dict)  # what the job recorded for it

    def called_model_as(self, roles: frozenset[str]) -> bool:
        """Did the recorded run ask a model in one of ``roles`` (or take scripted answers, which
        a replay then answers from what the job recorded)?"""
        return any(isinstance(e, LlmCalled) and e.role in roles for e in self.history)


ReplayFactory = Callable[[ReplaySources], list[AnyReaction]]


@dataclass(frozen=True)
class Divergence:
    version: int  # first version of the reaction that differs
    service: str
    trigger: str  # "<EventName> v<version>" the service reacted to
    reason: str
    recorded: tuple[dict[str, Any], ...] = ()
    replayed: tuple[dict[str, Any], ...] = ()


@dataclass
class ReplayReport:
    job_id: str
    events: int = 0  # events of the recorded run checked (copied or compared)
    reactions: int = 0  # handler runs compared
    compared: int = 0  # events produced again and found equal
    unused_calls: int = 0  # recorded model calls nobody asked for
    divergence: Divergence | None = None
    by_service: dict[str, int] = field(default_factory=dict)

    @property
    def same(self) -> bool:
        return self.divergence is None


def comparable(event: Event) -> dict[str, Any]:
    """An event without what differs between runs by construction."""
    return {"name": event.name, **event.model_dump(mode="json", exclude=set(RUN_FIELDS))}


class _Clock:
    """The recorded time of the reaction being re-run: decisions see the time they saw then."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _reaction_batches(history: Sequence[Event]) -> dict[int, tuple[int, int]]:
    """Index of each reaction's first event -> (start, end) of the contiguous batch one
    producer appended in reaction to one cause (a reaction is one atomic append)."""
    batches: dict[int, tuple[int, int]] = {}
    i = 0
    while i < len(history):
        e = history[i]
        j = i + 1
        if e.causation_id:
            while (
                j < len(history)
                and history[j].producer == e.producer
                and history[j].causation_id == e.causation_id
            ):
                j += 1
        batches[i] = (i, j)
        i = j
    return batches


def settings_of(events: Sequence[Event], service: str) -> dict[str, str]:
    """The settings ``service`` last recorded in ``events`` (none: its defaults)."""
    recorded = [e for e in events if isinstance(e, SettingsRecorded) and e.service == service]
    return dict(recorded[-1].settings) if recorded else {}


class _Handlers:
    """Each service's handlers, built again only when the settings it recorded change."""

    def __init__(
        self, history: Sequence[Event], llm: ReplayLlm, factories: Mapping[str, ReplayFactory]
    ) -> None:
        self.history, self.llm, self.factories = history, llm, factories
        Key = tuple[str, frozenset[tuple[str, str]]]  # a service, its settings
        self.built: dict[Key, dict[type[Event], AnyReaction]] = {}

    def reaction(self, service: str, cause: type[Event], upto: int) -> AnyReaction | None:
        build = self.factories.get(service)
        if build is None:
            return None
        settings = settings_of(self.history[:upto], service)
        key = (service, frozenset(settings.items()))
        if key not in self.built:
            sources = ReplaySources(self.history, self.llm, settings)
            self.built[key] = {r.event: r for r in build(sources)}
        return self.built[key].get(cause)


async def replay_job(
    history: Sequence[Event],
    factories: Mapping[str, ReplayFactory],
    models: Mapping[str, str] | None = None,
) -> ReplayReport:
    """Re-run ``history``'s reactions by the services in ``factories``; copy everything else."""
    if not history:
        raise ValueError("nothing to replay: the job has no events")
    report = ReplayReport(job_id=str(history[0].job_id))
    llm = ReplayLlm([e for e in history if isinstance(e, LlmCalled)], models)
    handlers = _Handlers(history, llm, factories)
    store = JobStore.in_memory()
    clock = _Clock(history[0].occurred_at)
    app = JobApplication(store, clock=clock)
    by_id = {e.event_id: e for e in history}
    new_ids: dict[str, str] = {}  # recorded event id -> id of its counterpart in the new run
    origin = history[0]
    # A fork's first events were decided in the job it was forked from: inputs here.
    copied = (
        origin.forked_from.version if isinstance(origin, JobRequested) and origin.forked_from else 0
    )

    for start, end in _reaction_batches(history).values():
        batch = history[start:end]
        first = batch[0]
        cause = by_id.get(first.causation_id or "")
        reaction = (
            handlers.reaction(first.producer, type(cause), end) if cause is not None else None
        )
        if (
            reaction is None or first.version <= copied
        ):  # an input of the run: copied as it was, its cause renamed
            renamed = first.causation_id and new_ids.get(first.causation_id)
            copies = [
                e.model_copy(update={"causation_id": renamed}) if renamed else e for e in batch
            ]
            store.append(copies)
            for e in batch:
                new_ids[e.event_id] = e.event_id
            report.events += len(batch)
            continue
        assert cause is not None
        trigger = cause.model_copy(update={"event_id": new_ids.get(cause.event_id, cause.event_id)})
        clock.now = first.occurred_at
        delivery = reaction.delivery(first.producer, trigger, app)
        version = store.load(first.job_id).version
        try:
            await reaction.handle(delivery)
        except Exception as error:
            report.divergence = Divergence(
                first.version,
                first.producer,
                f"{cause.name} v{cause.version}",
                f"the handler raised {type(error).__name__}: {error}",
                tuple(comparable(e) for e in batch),
            )
            break
        produced = store.history(first.job_id, after=version)
        report.reactions += 1
        report.by_service[first.producer] = report.by_service.get(first.producer, 0) + 1
        difference = _first_difference(batch, produced)
        if difference is not None:
            report.divergence = Divergence(
                first.version + difference,
                first.producer,
                f"{cause.name} v{cause.version}",
                _describe(batch, produced, difference),
                tuple(comparable(e) for e in batch[difference:]),
                tuple(comparable(e) for e in produced[difference:]),
            )
            break
        for old, new in zip(batch, produced, strict=True):
            new_ids[old.event_id] = new.event_id
        report.events += len(batch)
        report.compared += len(batch)
    report.unused_calls = llm.remaining()
    return report


def _first_difference(recorded: Sequence[Event], replayed: Sequence[Event]) -> int | None:
    for i, (old, new) in enumerate(zip(recorded, replayed, strict=False)):
        if comparable(old) != comparable(new):
            return i
    if len(recorded) != len(replayed):
        return min(len(recorded), len(replayed))
    return None


def _describe(recorded: Sequence[Event], replayed: Sequence[Event], i: int) -> str:
    if i >= len(replayed):
        return f"the new run appended {len(replayed)} events, the recorded one {len(recorded)}"
    if i >= len(recorded):
        extra = len(replayed) - len(recorded)
        return f"the new run appended {extra} more events ({replayed[i].name} first)"
    old, new = comparable(recorded[i]), comparable(replayed[i])
    if old["name"] != new["name"]:
        return f"recorded {old['name']}, the new run {new['name']}"
    fields = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    return f"{old['name']} differs in {', '.join(fields)}"

"""Contracts: upcasting, registry, wire format, subjects."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent
from pydantic import ValidationError

from bdg_contracts import events as ev
from bdg_contracts import subjects, wire
from bdg_contracts.base import Event, UnknownEventError
from bdg_contracts.ids import check_tenant
from bdg_jobs.mapper import to_event, to_stored

ENVELOPE = {
    "correlation_id": "c",
    "tenant_id": "t",
    "producer": "p",
    "occurred_at": "2026-01-01T00:00:00+00:00",
}


def test_a_stored_v1_job_requested_loads_as_the_current_version() -> None:
    job_id = uuid4()
    v1_state = {
        **ENVELOPE,
        "event_id": "01J",
        "schema_version": 1,
        "goal": "g",
        "repo_url": "https://git.example/r.git",
    }
    stored = StoredEvent(job_id, 1, "JobRequested", json.dumps(v1_state).encode())
    event = to_event(stored)
    assert isinstance(event, ev.JobRequested)
    assert event.schema_version == 3
    assert event.repo == "https://git.example/r.git"
    assert event.base_ref == "HEAD"
    assert (event.models, event.forked_from) == ({}, None)
    assert to_event(to_stored(event)) == event


def test_a_newer_schema_than_the_code_is_refused() -> None:
    with pytest.raises(ValidationError, match="newer than this code"):
        ev.JobRequested.model_validate(
            {**ENVELOPE, "job_id": uuid4(), "version": 1, "schema_version": 4, "goal": "g"}
        )


def test_new_events_are_of_the_current_version() -> None:
    event = ev.JobRequested(
        job_id=uuid4(),
        version=1,
        goal="g",
        repo="r",
        correlation_id="c",
        tenant_id="t",
        producer="p",
        occurred_at=datetime.now(UTC),
    )
    assert (event.schema_version, event.repo) == (3, "r")


def test_events_are_frozen_and_reject_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        ev.JobPaused.model_validate({**ENVELOPE, "job_id": uuid4(), "version": 1, "x": 1})


def test_unknown_event_names_are_an_error() -> None:
    with pytest.raises(UnknownEventError):
        Event.named("NoSuchEvent")


def test_wire_round_trip_and_msg_id() -> None:
    event = ev.PlanReady(
        job_id=uuid4(),
        version=3,
        plan_markdown="- [ ] x",
        correlation_id="c",
        tenant_id="t",
        producer="p",
        occurred_at=datetime.now(UTC),
        traceparent="00-abc-def-01",
    )
    headers = wire.headers_for(event, notification_id=7)
    assert headers["Nats-Msg-Id"] == f"{event.job_id}:3"
    assert headers["traceparent"] == "00-abc-def-01"
    assert wire.decode(headers, wire.encode(event)) == event
    assert subjects.subject_of(event) == f"bdg.evt.t.{event.job_id}.PlanReady"


def test_namespaces_separate_streams_and_subjects() -> None:
    try:
        subjects.use_namespace("ci7")
        assert subjects.events_stream() == "BDG_EVENTS_CI7"
        assert subjects.all_events() == "bdg_ci7.evt.>"
        with pytest.raises(ValueError, match="namespace"):
            subjects.use_namespace("Bad.Name")
    finally:
        subjects.use_namespace("")
    assert subjects.events_stream() == "BDG_EVENTS"


@pytest.mark.parametrize("tenant", ["a.b", "a*", ">", "", "x" * 65, "sp ace"])
def test_tenant_ids_that_would_break_subjects_are_refused(tenant: str) -> None:
    with pytest.raises(ValueError, match="tenant"):
        check_tenant(tenant)

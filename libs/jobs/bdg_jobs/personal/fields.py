"""Which values of a stored event are personal, whose they are, and sealing them in place.

Pure: keys come in. The envelope's ``user_id`` and a ``user:<id>`` producer name a person;
``Event.personal`` lists an event's own personal fields. Who decided (the envelope's user, an
approver) is sealed with that person's key; what the event says about the job (a goal, a plan
someone edited, a reason typed) with the job owner's key, whoever typed it, so erasing the owner
erases it in every event of their jobs; with no owner known, with the decider's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from bdg_jobs.personal.cipher import is_sealed, key_id_of, open_sealed, seal

USER_PREFIX = "user:"


def personal_names(event_cls: type[Any], state: dict[str, Any]) -> list[str]:
    names = [n for n in event_cls.personal if state.get(n) is not None]
    if state.get("user_id") is not None:
        names.append("user_id")
    producer = state.get("producer")
    if isinstance(producer, str) and producer.startswith(USER_PREFIX):
        names.append("producer")
    return names


def whose(event_cls: type[Any], names: list[str]) -> tuple[list[str], list[str]]:
    """``names`` split into the decider's (their id, an approver) and the job's (what was
    typed about it: a goal, a plan, a reason), each sealed with its person's key."""
    actor = {"user_id", "producer", *event_cls.personal_actor}
    return [n for n in names if n in actor], [n for n in names if n not in actor]


def subject_user(state: dict[str, Any]) -> str | None:
    """The person the event is about when it names one (else: the job's owner)."""
    user = state.get("user_id")
    if isinstance(user, str) and user:
        return user
    producer = state.get("producer")
    if isinstance(producer, str) and producer.startswith(USER_PREFIX):
        return producer[len(USER_PREFIX) :]
    return None


def aad_of(originator: UUID, version: int, name: str) -> bytes:
    return f"{originator}:{version}:{name}".encode()


def seal_state(
    state: dict[str, Any],
    names: list[str],
    key: bytes,
    key_id: UUID,
    originator: UUID,
    version: int,
) -> dict[str, Any]:
    sealed = dict(state)
    for name in names:
        sealed[name] = seal(key, key_id, aad_of(originator, version, name), state[name])
    return sealed


def sealed_key_ids(state: dict[str, Any]) -> set[UUID]:
    return {key_id_of(v) for v in state.values() if is_sealed(v)}


def open_state(
    state: dict[str, Any],
    key_of: Callable[[UUID], bytes | None],
    originator: UUID,
    version: int,
) -> dict[str, Any]:
    """``state`` with its sealed values opened (``[erased]`` where the key is gone)."""
    opened = dict(state)
    for name, value in state.items():
        if is_sealed(value):
            key = key_of(key_id_of(value))
            opened[name] = open_sealed(key, aad_of(originator, version, name), value)
    return opened

"""Contracts shared by every BigDaddyG service: events, commands, subjects, wire format."""

from bdg_contracts import commands, events, subjects, wire
from bdg_contracts.base import Contract, Event, UnknownEventError
from bdg_contracts.states import JobState, Step

__all__ = [
    "Contract",
    "Event",
    "JobState",
    "Step",
    "UnknownEventError",
    "commands",
    "events",
    "subjects",
    "wire",
]

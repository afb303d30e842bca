"""Every event module, imported: the log holds every aggregate's events, and a process that
reads it must know them all, not only those of the modules it happens to import (an event class
registers itself when its module is imported). A tester that led the log follower once met an
auditor's ``AuditFileWritten`` and could not decode it; ``tests/unit/test_event_registry.py``
fails when a new event module is missing here."""

from __future__ import annotations

from bdg_contracts import audit_events as audit_events
from bdg_contracts import budget_events as budget_events
from bdg_contracts import events as events
from bdg_contracts import index_events as index_events
from bdg_contracts import privacy_events as privacy_events
from bdg_contracts import release_events as release_events
from bdg_contracts import tool_events as tool_events

"""Identifiers: event ids are ULIDs (sortable by time), job ids are UUIDs."""

from __future__ import annotations

import re
from uuid import UUID, uuid4

from ulid import ULID

TENANT_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def new_event_id() -> str:
    return str(ULID())


def new_job_id() -> UUID:
    return uuid4()


def check_tenant(tenant_id: str) -> str:
    """Tenant ids become NATS subject tokens, so they must not contain '.', '*', '>' or spaces."""
    if not TENANT_PATTERN.fullmatch(tenant_id):
        raise ValueError(f"tenant id {tenant_id!r} must match {TENANT_PATTERN.pattern}")
    return tenant_id

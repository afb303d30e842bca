"""Where audit objects live in the bucket: partitioned by tenant and date, deterministic.

The same job ending always maps to the same key, so a retried write lands on the same object.
"""

from __future__ import annotations

import re
from datetime import datetime
from uuid import UUID

# A file's header, and the action of the seal row that ends every file.
COLUMNS = ("jobId", "userId", "action", "params", "cost", "timestamp", "signature")
SEAL_ACTION = "audit.sealed"
_TENANT = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def tenant_prefix(prefix: str, tenant_id: str) -> str:
    if not _TENANT.fullmatch(tenant_id):
        raise ValueError(f"tenant id {tenant_id!r} cannot name an object prefix")
    return f"{prefix}/{tenant_id}/"


def file_key(prefix: str, tenant_id: str, ended_at: datetime, job_id: UUID, version: int) -> str:
    """``<prefix>/<tenant>/<yyyy>/<mm>/<dd>/<job>/audit-v<version>.csv`` (date of the end)."""
    day = f"{ended_at:%Y/%m/%d}"
    return f"{tenant_prefix(prefix, tenant_id)}{day}/{job_id}/audit-v{version:06d}.csv"


def jwks_key(prefix: str) -> str:
    return f"{prefix}/jwks.json"


def job_of_key(key: str) -> str:
    """The job id segment of a file key."""
    return key.rsplit("/", 2)[-2]

"""Reading a tenant's audit trail for the gateway and the CLI: JWKS and verification.

Synchronous (boto3, psycopg); async callers go through ``asyncio.to_thread``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from bdg_audit.check import Report, check_tenant
from bdg_audit.export import ExportQuery, export_csv, files_for
from bdg_audit.layout import jwks_key
from bdg_audit.manifest import Recorded, recorded_chain, recorded_files
from bdg_audit.report import PeriodReport, fold
from bdg_audit.store import ObjectStore


@dataclass(frozen=True)
class AuditReader:
    objects: ObjectStore
    database_url: str
    prefix: str = "audit"

    def export_files(self, tenant_id: str, query: ExportQuery) -> list[Recorded]:
        return files_for(recorded_files(self.database_url, tenant_id), query)

    def export(self, files: list[Recorded], query: ExportQuery) -> Iterator[bytes]:
        return export_csv(self.objects, files, query)

    def report(self, tenant_id: str, query: ExportQuery) -> PeriodReport:
        """The period report, folded from the export stream (whole lines per chunk)."""
        chunks = self.export(self.export_files(tenant_id, query), query)
        lines = (line for chunk in chunks for line in chunk.splitlines())
        return fold(lines, query.start.isoformat(), query.end.isoformat())

    def jwks(self) -> dict[str, Any]:
        stored = self.objects.get(jwks_key(self.prefix))
        return json.loads(stored) if stored else {"keys": []}

    def verify(
        self,
        tenant_id: str,
        start: date | None = None,
        end: date | None = None,
        job_id: str | None = None,
    ) -> Report:
        records = recorded_files(self.database_url, tenant_id)
        chain = recorded_chain(self.database_url, tenant_id)
        return check_tenant(
            self.objects, self.prefix, tenant_id, records, start, end, job_id, chain
        )

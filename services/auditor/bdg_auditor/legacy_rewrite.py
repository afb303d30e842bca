"""After an erasure: the tenant's audit files written before pseudonyms that name the person
in plain are rewritten under pseudonyms (``bdg_audit.rewrite``), each a new signed file beside
the old one, recorded in the job's trail as the file of the same job version; then one signed
removal record (reason ``erasure``) lists each old file with the one that replaced it, and the
old objects are deleted. The record is written even when no file named them: it is the signed
statement that the check was made, and what marks the erasure done.

Crash-safe: a new file's key is deterministic (taken as it is when found), and an old file
whose version already has a newer record but is still in the bucket is listed and deleted by
the next pass (every ``BDG_AUDIT_RETRY_SECONDS``, as the sweeper).
"""

from __future__ import annotations

import asyncio
import logging
from uuid import UUID

from bdg_audit.chain import signed_file
from bdg_audit.manifest import Recorded, recorded_files
from bdg_audit.removals import Removed
from bdg_audit.rewrite import parse_file, people_in, rows_under
from bdg_auditor.adapters import facts_of_existing
from bdg_auditor.application import PRODUCER, Auditing
from bdg_auditor.domain import FileFacts
from bdg_auditor.removal_records import RemovalRecords
from bdg_contracts.audit_events import AuditObjectsRemoved, RemovalReason
from bdg_contracts.privacy_events import PersonalDataErased
from bdg_jobs.personal.pseudonyms import RewritingWho
from bdg_jobs.store import EVENTS_TABLE

log = logging.getLogger(__name__)
_ERASURES = f"SELECT originator_id FROM {EVENTS_TABLE} WHERE topic = 'PersonalDataErased'"


def rewritten_key(key: str, erasure_id: UUID) -> str:
    return f"{key.removesuffix('.csv')}-e{str(erasure_id)[:8]}.csv"


class LegacyRewrite:
    def __init__(self, auditing: Auditing, records: RemovalRecords, database_url: str) -> None:
        assert auditing.store.personal is not None, "rewriting needs the data keys"
        self.auditing, self.records, self.url = auditing, records, database_url
        self.vault = auditing.store.personal.vault
        self.done: set[UUID] = set()  # erasures whose record this process saw

    async def step(self) -> int:
        """Every erasure without its record gets one; returns how many files were rewritten."""
        import psycopg

        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
            ids = [UUID(str(r[0])) for r in await (await conn.execute(_ERASURES)).fetchall()]
        rewritten = 0
        for erasure_id in ids:
            if erasure_id not in self.done:
                history = await asyncio.to_thread(self.auditing.store.history, erasure_id)
                if history and isinstance(history[0], PersonalDataErased):
                    record = await self.after_erasure(history[0])
                    rewritten += record.removed if record is not None else 0
        return rewritten

    async def after_erasure(self, erasure: PersonalDataErased) -> AuditObjectsRemoved | None:
        tenant, erasure_id = erasure.tenant_id, erasure.job_id
        chain = await self.records.chain(tenant)
        done = [e for e in chain if isinstance(e, AuditObjectsRemoved)]
        if any(e.erasure_id == erasure_id for e in done):
            self.done.add(erasure_id)
            return None
        files = await asyncio.to_thread(recorded_files, self.url, tenant)
        latest: dict[tuple[str, int], Recorded] = {}
        replaced: list[tuple[Recorded, Recorded]] = []
        for r in files:  # log order: a later record of the same version replaced the earlier
            before = latest.get((r.job_id, r.through_version))
            if before is not None:
                replaced.append((before, r))
            latest[(r.job_id, r.through_version)] = r
        removed = [
            Removed(old.object_key, old.sha256, new.object_key, new.sha256)
            for old, new in replaced
            if await asyncio.to_thread(self.records.storage.store.exists, old.object_key)
        ]
        for record in latest.values():
            new = await self.rewrite_file(record, erasure)
            if new is not None:
                removed.append(Removed(record.object_key, record.sha256, new[0], new[1]))
        detail = {"erasure": str(erasure_id), "rewritten": len(removed)}
        at = erasure.occurred_at
        written = await self.records.record(
            tenant, RemovalReason.erasure, at, detail, removed, erasure_id=erasure_id
        )
        if written is not None:
            await self.records.carry_out(written)
            self.done.add(erasure_id)
        return written

    async def rewrite_file(
        self, record: Recorded, erasure: PersonalDataErased
    ) -> tuple[str, str] | None:
        """The new file's key and sha256 if ``record``'s file names the person in plain."""
        storage = self.auditing.storage
        content = await storage.existing(record.object_key)
        parsed = parse_file(content) if content is not None else None
        if parsed is None:
            return None  # gone or not whole: verification names it, nothing to rewrite
        tenant = erasure.tenant_id
        people = people_in(parsed.rows)
        if not any(self.vault.subject(tenant, p) == erasure.subject for p in people):
            return None
        key = rewritten_key(record.object_key, erasure.job_id)
        found = await storage.existing(key)
        if found is not None:
            written = facts_of_existing(found)
        else:
            owner = parsed.rows[0].user_id if parsed.rows else ""
            who = await asyncio.to_thread(RewritingWho, self.vault, tenant, owner)
            rows = await asyncio.to_thread(rows_under, parsed.rows, who)
            signer = await storage.signer(self.auditing.clock())
            written = signed_file(rows, parsed.job_id, parsed.through_version, parsed.state, signer)
            await storage.put(key, written.content)
        # ``record`` is its version's latest record: the new file is not recorded yet.
        trail = await self.auditing.trail(UUID(record.job_id), tenant)
        facts = FileFacts(
            key, written.sha256, written.rows, len(written.content), written.kids, record.started_at
        )
        trail.record_file(record.through_version, facts, self.auditing.clock(), PRODUCER)
        await asyncio.to_thread(self.auditing.store.append, trail.pending)
        log.info("audit file %s rewritten under pseudonyms as %s", record.object_key, key)
        return key, written.sha256

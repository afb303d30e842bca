"""Which issue each issue-started job answers to, and which events were commented already.

Not events: the link is operator data (which host, which issue) kept next to the read models,
and the comment marks make posting once per event hold across redeliveries and replicas.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from uuid import UUID, uuid5

import psycopg

from bdg_gateway.issue_payloads import Issue
from bdg_gateway.webhook_payloads import ProviderName

# Fixed: the same issue of the same registration always names the same job.
_ISSUE_JOBS = UUID("5f0c8a53-3f57-4d0e-9a53-0c5e4b1f6a19")


def job_id_for(repo_id: UUID, issue: Issue) -> UUID:
    """One job per issue and registration: a redelivery, and GitHub's ``opened`` followed by
    ``labeled`` for an issue opened with the label, all name the same job."""
    return uuid5(_ISSUE_JOBS, f"{repo_id}:{issue.provider}:{issue.full_name}#{issue.number}")


@dataclass(frozen=True)
class IssueLink:
    tenant: str
    provider: ProviderName
    full_name: str
    number: int


class IssueJobs:
    def __init__(self, database_url: str) -> None:
        self.url = database_url

    async def link(self, job_id: UUID, tenant: str, issue: Issue) -> None:
        def insert() -> None:
            with psycopg.connect(self.url) as conn:
                conn.execute(
                    "INSERT INTO bdg_issue_jobs (job_id, tenant, provider, full_name,"
                    " issue_number, delivery_id) VALUES (%s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (job_id) DO NOTHING",
                    (str(job_id), tenant, issue.provider, issue.full_name, issue.number,
                     issue.delivery_id),
                )  # fmt: skip

        await asyncio.to_thread(insert)

    async def linked(self, job_id: UUID) -> IssueLink | None:
        def select() -> IssueLink | None:
            with psycopg.connect(self.url) as conn:
                row = conn.execute(
                    "SELECT tenant, provider, full_name, issue_number FROM bdg_issue_jobs"
                    " WHERE job_id = %s",
                    (str(job_id),),
                ).fetchone()
            return None if row is None else IssueLink(row[0], row[1], row[2], row[3])

        return await asyncio.to_thread(select)

    async def claim_comment(self, event_id: str, job_id: UUID) -> bool:
        """True once per event: the caller posts; a later claim of the same event is False."""

        def insert() -> bool:
            with psycopg.connect(self.url) as conn:
                done = conn.execute(
                    "INSERT INTO bdg_issue_comments (event_id, job_id) VALUES (%s, %s)"
                    " ON CONFLICT (event_id) DO NOTHING",
                    (str(event_id), str(job_id)),
                )
                return done.rowcount == 1

        return await asyncio.to_thread(insert)

    async def release_comment(self, event_id: str) -> None:
        """The post failed: the next delivery may claim the event again."""

        def delete() -> None:
            with psycopg.connect(self.url) as conn:
                conn.execute("DELETE FROM bdg_issue_comments WHERE event_id = %s", (str(event_id),))

        await asyncio.to_thread(delete)

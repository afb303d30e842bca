"""What a long step is doing now, sent on core NATS (``subjects.job_progress``), never stored.

Like a heartbeat, a progress report is no fact about the job (bdg_runtime/heartbeats.py): in the
log it would grow every history and be compared by replays. The gateway forwards each report to
the job's open WebSockets as a ``{"type": "progress"}`` frame; a page that opens later sees the
next report (they come every few seconds while the work lasts).
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import Field

from bdg_contracts.base import Contract


class InstallState(StrEnum):
    started = "started"
    running = "running"
    finished = "finished"
    failed = "failed"


class InstallProgress(Contract):
    """The tester installing one project's dependencies for an attempt's test run."""

    tenant_id: str
    job_id: UUID
    attempt: int = Field(ge=1)
    project: str = Field(max_length=500)  # the install's folder in the workspace, "." at the top
    state: InstallState
    elapsed_s: float = Field(ge=0)
    output_lines: int = Field(ge=0)  # of the install commands' stdout and stderr so far

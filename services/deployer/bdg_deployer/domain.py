"""Pure deploy logic: what is asked of a provider, what it answers, and what a job delivers."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from bdg_contracts import events as ev
from bdg_contracts.base import Event

BRANCH_PREFIX = "bdg/"
FULL_HASH = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


@dataclass(frozen=True)
class ChangeSet:
    """What the job changed: its repository at a base, and its patches in the order they apply.

    ``base_commit`` is the commit the coder pinned ("" when none was: a recorded coder, or a
    source that is no git repository); then ``base_ref`` is resolved when the branch is built."""

    repo: str = ""
    base_ref: str = "HEAD"
    base_commit: str = ""
    patches: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    summary: str = ""
    plan: str = ""  # the plan as last approved or edited: the pull request's description


@dataclass(frozen=True)
class DeployTask:
    job_id: UUID
    tenant_id: str
    goal: str
    deployed_url: str = ""
    change: ChangeSet = ChangeSet()
    approved_at: datetime | None = None  # the deploy approval's time: the commit's date
    delivered: ev.DeliveredBranch | None = None  # what an earlier deploy of the job delivered
    approved_digest: str = ""  # what the approval named ("" before digests)


@dataclass(frozen=True)
class Measured:
    """The preview release's Lighthouse scores (category -> 0..100) against the operator's bar:
    what the job records before its deploy is offered, or instead of it."""

    release: str
    url: str
    scores: dict[str, int]
    bar: int


@dataclass(frozen=True)
class Release:
    """What a human approves: where it goes and what it will look like."""

    target: str
    preview: str = ""
    artifact: str | None = None  # the built artifact's manifest digest (a site), else None
    digest: str | None = None  # from a record ("" before digests); None: approval_digest
    measured: Measured | None = None  # the preview's scores, when the operator gates on them


@dataclass(frozen=True)
class Deployment:
    url: str
    canary: bool = False
    branch: ev.DeliveredBranch | None = None


def approval_digest(change: ChangeSet, artifact: str | None) -> str:
    """What an approver reviews, as one digest: the base, every patch in order, the artifact's
    manifest. Canonical JSON, so the deployer computes the same digest again before publishing."""
    reviewed = {
        "base": change.base_commit or f"ref:{change.base_ref}",
        "repo": change.repo,
        "patches": [hashlib.sha256(p.encode()).hexdigest() for p in change.patches],
        "artifact": artifact,
    }
    encoded = json.dumps(reviewed, sort_keys=True, separators=(",", ":")).encode()
    return f"sha256:{hashlib.sha256(encoded).hexdigest()}"


def ready_to_ship(review: ev.ReviewCompleted) -> bool:
    """Only an approving review leads to a deploy; a rejecting one goes back to coding."""
    return review.approved


def change_of(history: Sequence[Event]) -> ChangeSet:
    """The job's repository, the base its first attempt pinned, and every FilesChanged patch
    (the coder's and the tester's scaffolding alike), in order: what its workspaces were."""
    request = next((e for e in history if isinstance(e, ev.JobRequested)), None)
    changed = [e for e in history if isinstance(e, ev.FilesChanged) and e.patch.strip()]
    finished = [e for e in history if isinstance(e, ev.CodingFinished)]
    base = next((e.base_commit for e in finished if e.base_commit), "")
    plans = [e.plan_markdown for e in history if isinstance(e, ev.PlanReady | ev.PlanEdited)]
    paths = tuple(dict.fromkeys(p for e in changed for p in e.paths))
    return ChangeSet(
        repo=request.repo if request else "",
        base_ref=(request.base_ref if request else "") or "HEAD",
        base_commit=base,
        patches=tuple(e.patch for e in changed),
        paths=paths,
        summary=finished[-1].summary if finished else "",
        plan=plans[-1] if plans else "",
    )


def branch_name(job_id: UUID) -> str:
    """``bdg/<first 8 hex digits of the job id>``: short enough to type, one per job."""
    return f"{BRANCH_PREFIX}{job_id.hex[:8]}"


def commit_message(task: DeployTask) -> str:
    goal = task.goal.strip().splitlines()[0] if task.goal.strip() else "(no goal)"
    subject = goal if len(goal) <= 68 else goal[:67] + "…"
    body = [f"bdg job {task.job_id}"]
    if task.change.summary:
        body.append(task.change.summary)
    return f"{subject}\n\n" + "\n\n".join(body) + "\n"


PR_BODY_MAX = 60_000  # GitHub refuses bodies over 65,536 characters


def pull_request_text(task: DeployTask) -> tuple[str, str]:
    """The pull request's title (the commit's subject) and description: the plan it carries
    out, the coder's summary, the files, and the job it came from."""
    subject = commit_message(task).split("\n", 1)[0]
    parts = []
    if task.change.plan.strip():
        parts.append(task.change.plan.strip())
    if task.change.summary.strip():
        parts.append(f"### What changed\n\n{task.change.summary.strip()}")
    parts.append(f"Files: {describe_paths(task.change.paths)}")
    footer = f"\n\n---\nOpened by BigDaddyG Agent for job `{task.job_id}`."
    body = "\n\n".join(parts)
    if len(body) + len(footer) > PR_BODY_MAX:
        body = body[: PR_BODY_MAX - len(footer) - 1] + "…"
    return subject, body + footer


def describe_paths(paths: Sequence[str], most: int = 8) -> str:
    shown = ", ".join(paths[:most])
    more = f" and {len(paths) - most} more" if len(paths) > most else ""
    return f"{shown}{more}" if paths else "no files"

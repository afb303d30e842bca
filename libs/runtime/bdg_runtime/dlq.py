"""Dead letters: listing them and retrying the step they failed (``bdg dlq list|retry``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from bdg_contracts import subjects, wire
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Cause, Job
from bdg_runtime.redrive import Redriver


class DeadLetterError(LookupError):
    """No such dead letter, or one that cannot be retried."""


@dataclass(frozen=True)
class DeadLetter:
    seq: int
    service: str
    event_name: str
    job_id: UUID | None
    tenant_id: str | None
    error: str
    deliveries: int
    time: datetime | None


async def list_dead_letters(js: JetStreamContext, limit: int = 1000) -> list[DeadLetter]:
    try:
        info = await js.stream_info(subjects.dlq_stream())
    except NotFoundError:
        return []
    letters: list[DeadLetter] = []
    if not info.state.messages:
        return letters
    seq = max(info.state.first_seq, 1)
    while seq <= info.state.last_seq and len(letters) < limit:
        letter = await _get(js, seq)
        if letter is not None:
            letters.append(letter)
        seq += 1
    return letters


async def _get(js: JetStreamContext, seq: int) -> DeadLetter | None:
    try:
        msg = await js.get_msg(subjects.dlq_stream(), seq)
    except NotFoundError:
        return None  # deleted after a retry
    headers = msg.headers or {}
    job_id, tenant = _job_of(headers, msg.data or b"")
    return DeadLetter(
        seq=seq,
        service=headers.get("Bdg-Service", "?"),
        event_name=headers.get(wire.EVENT_HEADER, "?"),
        job_id=job_id,
        tenant_id=tenant,
        error=headers.get("Bdg-Error", ""),
        deliveries=int(headers.get("Bdg-Deliveries", "0")),
        time=None,
    )


def _job_of(headers: dict[str, str], body: bytes) -> tuple[UUID | None, str | None]:
    """The job a dead letter belongs to; an undecodable message is listed all the same."""
    try:
        event = wire.decode(headers, body)
    except Exception:
        return None, None
    return event.job_id, event.tenant_id


async def retry_dead_letter(
    js: JetStreamContext, app: JobApplication, redrive: Redriver, seq: int, operator: str
) -> UUID:
    """Put the job back into the failed step and publish its event again; drop the letter."""
    letter = await _get(js, seq)
    if letter is None:
        raise DeadLetterError(f"no dead letter #{seq}")
    if letter.job_id is None:
        raise DeadLetterError(f"dead letter #{seq} is not a job event: {letter.error}")
    cause = Cause(producer=f"operator:{operator}", occurred_at=app.clock())

    def retry(job: Job) -> None:
        job.retry_step(cause)

    await app.execute(letter.job_id, retry)
    await redrive(letter.job_id)
    await js.delete_msg(subjects.dlq_stream(), seq)
    return letter.job_id

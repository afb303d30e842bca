"""Reading an old audit file back into rows, and the people in it: pure. Re-signing what was
read gives the same bytes (Ed25519 is deterministic), so a rewrite changes people only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bdg_audit.chain import signed_file
from bdg_audit.keys import Keyring, SigningKey
from bdg_audit.rewrite import parse_file, people_in, rows_under
from bdg_audit.rows import IN_PLAIN, rows_of
from tests.audit_history import T0, deployed_job, history_of

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def key(tmp_path) -> SigningKey:  # type: ignore[no-untyped-def]
    return Keyring(tmp_path).ensure(T0, timedelta(days=30))


def test_a_file_read_back_and_signed_again_is_the_same_file(key: SigningKey) -> None:
    job = deployed_job(user="ada", approver="grace")
    history = history_of(job)
    original = signed_file(rows_of(history), str(job.job_id), history[-1].version, "done", key)

    parsed = parse_file(original.content)

    assert parsed is not None
    assert (parsed.job_id, parsed.through_version, parsed.state) == (
        str(job.job_id),
        history[-1].version,
        "done",
    )
    again = signed_file(
        rows_under(parsed.rows, IN_PLAIN), parsed.job_id, parsed.through_version, "done", key
    )
    assert again.content == original.content
    assert people_in(parsed.rows) == {"ada", "grace"}


def test_a_cut_file_is_not_read(key: SigningKey) -> None:
    job = deployed_job()
    history = history_of(job)
    content = signed_file(rows_of(history), str(job.job_id), 1, "done", key).content
    cut = content[: content.rindex(b"\n", 0, len(content) - 1) + 1]  # the seal row gone
    assert parse_file(cut) is None
    assert parse_file(b"") is None

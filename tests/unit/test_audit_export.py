"""Which audit lines an export keeps: pure, on lines of a real signed file."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path

import pytest

from bdg_audit.chain import signed_file
from bdg_audit.export import ExportQuery, ExportRangeError
from bdg_audit.keys import Keyring
from bdg_audit.rows import rows_of
from tests.audit_history import T0, ended_job, history_of

pytestmark = pytest.mark.timeout(30)
DAY = date(2026, 12, 5)


def _lines(user: str = "ada") -> list[bytes]:
    key = Keyring(Path(tempfile.mkdtemp())).ensure(T0, timedelta(days=1))
    job = ended_job(user=user)
    history = history_of(job)
    content = signed_file(rows_of(history), str(job.job_id), 6, "cancelled", key).content
    return content.splitlines()[1:]


def _kept(query: ExportQuery, lines: list[bytes]) -> list[str]:
    return [line.split(b",")[2].decode() for line in lines if query.wants(line)]


def test_the_days_rows_without_the_seal() -> None:
    lines = _lines()
    assert _kept(ExportQuery(DAY, DAY), lines) == [
        "job.requested",
        "model.called",
        "plan.version",
        "plan.approved",
        "tool.called",
        "job.cancelled",
    ]
    assert _kept(ExportQuery(DAY + timedelta(days=1), DAY + timedelta(days=2)), lines) == []


def test_user_and_action_filters() -> None:
    lines = _lines(user="bob")
    assert _kept(ExportQuery(DAY, DAY, user="bob", action="tool.called"), lines) == ["tool.called"]
    assert _kept(ExportQuery(DAY, DAY, user="ada"), lines) == []


def test_a_quoted_user_is_read_as_csv() -> None:
    lines = _lines(user='o"brien, jr')
    assert len(_kept(ExportQuery(DAY, DAY, user='o"brien, jr'), lines)) == 6


def test_ranges_are_checked() -> None:
    with pytest.raises(ExportRangeError, match="from"):
        ExportQuery(DAY, DAY - timedelta(days=1)).check(366)
    with pytest.raises(ExportRangeError, match="to"):
        ExportQuery(DAY - timedelta(days=400), DAY).check(366)
    ExportQuery(DAY - timedelta(days=365), DAY).check(366)

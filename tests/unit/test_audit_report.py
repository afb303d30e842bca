"""The period report folded from exported lines: pure."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bdg_audit.chain import cells_of, render_csv
from bdg_audit.report import as_csv, as_html, fold
from bdg_audit.rows import rows_of
from tests.audit_history import deployed_job, ended_job, history_of

pytestmark = pytest.mark.timeout(30)


def _lines(*jobs) -> list[bytes]:  # type: ignore[no-untyped-def]
    records = [[*cells_of(r).values(), "sig"] for job in jobs for r in rows_of(history_of(job))]
    return render_csv(records).splitlines()


def test_actions_costs_deploys_and_approvals() -> None:
    report = fold(
        _lines(deployed_job(user="ada", approver="grace"), ended_job(user="bob")), "a", "b"
    )
    assert report.actions[("ada", "deploy.done")] == 1
    assert report.actions[("bob", "tool.called")] == 1
    assert report.cost_by_user == {
        "ada": Decimal("0.25"),
        "bob": Decimal("0.00123"),
        "grace": Decimal("0"),
    }
    assert report.total_cost == Decimal("0.25123")
    assert [d[2:] for d in sorted(report.deploys)] == [
        ("deploy.done", "https://app.example/v1"),
        ("rollback.requested", "broken"),
        ("rollback.done", "https://app.example/v0"),
    ]
    assert {(a[2], a[3]) for a in report.approvals} == {
        ("plan.approved", "ada"),
        ("deploy.approved", "grace"),
        ("plan.approved", "bob"),
    }


def test_csv_and_printable_html() -> None:
    report = fold(_lines(deployed_job(user="<ada>")), "2026-12-01", "2026-12-31")
    text = as_csv(report)
    assert text.splitlines()[0] == "section,time,job,user,action,detail,count,cost"
    assert "costs,,,(all),,,,0.25" in text
    page = as_html(report, "acme")
    assert page.startswith("<!doctype html>")
    assert "Audit report of acme, 2026-12-01 to 2026-12-31" in page
    assert "&lt;ada&gt;" in page
    assert "<ada>" not in page
    assert "@media print" in page

"""The alert a cap reached owes (``BudgetExceeded`` -> the 100% row) and its email's text."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

from bdg_auditor.alert_mail import alert_message
from bdg_auditor.cap_reached import reached_alert
from bdg_contracts import events as ev
from bdg_contracts.budget_events import budget_alert_id
from bdg_jobs.ledger.alerts import Alert


def exceeded(**cap: str) -> ev.BudgetExceeded:
    return ev.BudgetExceeded(
        job_id=uuid4(),
        version=3,
        correlation_id="c",
        tenant_id="acme",
        producer="planner",
        occurred_at=datetime(2026, 12, 5, tzinfo=UTC),
        limit_usd=2.5,
        spent_usd=2.4,
        **cap,
    )


def test_the_alert_is_the_cap_and_period_the_event_names_at_100_percent() -> None:
    alert = reached_alert(exceeded(cap_key="user:acme:ann", period="2026-12"))
    assert alert == Alert("user:acme:ann", "2026-12", 100, "acme", Decimal("2.5"), Decimal("2.4"))


def test_an_event_recorded_before_caps_were_named_owes_no_email() -> None:
    assert reached_alert(exceeded()) is None


def test_the_email_of_a_job_cap_names_no_period_and_says_how_to_resume() -> None:
    alert = Alert("job:acme:j1", "", 100, "acme", Decimal("1"), Decimal("1.02"))
    msg = alert_message(alert, "bdg@x.test", ["ops@x.test"])
    assert msg["Subject"] == "[bdg] acme: job budget cap reached"
    assert msg["Message-ID"] == f"<{budget_alert_id('job:acme:j1', '', 100)}@bdg>"
    body = msg.get_content()
    assert "spent $1.02 of $1" in body
    assert "POST /jobs/{id}/budget" in body
    # Short lines: the body travels as plain 7-bit text, readable as it is.
    assert msg["Content-Transfer-Encoding"] == "7bit"


def test_the_80_percent_email_is_unchanged() -> None:
    alert = Alert("tenant:acme", "2026-12", 80, "acme", Decimal("10"), Decimal("8.1"))
    msg = alert_message(alert, "bdg@x.test", ["ops@x.test"])
    assert msg["Subject"] == "[bdg] acme: tenant budget at 80% for 2026-12"

"""Budget alert emails over SMTP (the standard library's client, run in a worker thread).

Settings come from ``BDG_SMTP_*`` and ``BDG_ALERT_*``; with no ``BDG_SMTP_HOST`` or no
recipient no mail is sent (the alert is still recorded as an event). The Message-ID is derived
from the alert, so a message sent twice (a crash between the server's acceptance and our
commit) is one message to the receiving mail system.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from bdg_contracts.budget_events import budget_alert_id
from bdg_jobs.ledger.accounts import scope_of
from bdg_jobs.ledger.alerts import REACHED_PERCENT, Alert


class AlertSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    bdg_smtp_host: str | None = Field(default=None, description="unset = no alert emails")
    bdg_smtp_port: int = Field(default=587, ge=1, le=65535)
    bdg_smtp_starttls: bool = Field(default=True, description="upgrade with STARTTLS first")
    bdg_smtp_user: str | None = Field(default=None, description="log in when set")
    bdg_smtp_password: SecretStr | None = None
    bdg_smtp_timeout: float = Field(default=20.0, gt=0, le=300)
    bdg_alert_email_from: str = "bdg-alerts@localhost"
    bdg_alert_email_to: str = Field(default="", description="comma-separated recipients")
    bdg_alert_retry_seconds: float = Field(default=30.0, gt=0, description="first retry delay")
    bdg_budget_rollup_seconds: float = Field(
        default=300.0, gt=0, description="daily roll-up and alert pass period"
    )

    @property
    def recipients(self) -> list[str]:
        return [a.strip() for a in self.bdg_alert_email_to.split(",") if a.strip()]


def alert_message(alert: Alert, sender: str, recipients: list[str]) -> EmailMessage:
    what = scope_of(alert.key).value
    period = f" for {alert.period}" if alert.period else ""
    msg = EmailMessage()
    msg["From"], msg["To"] = sender, ", ".join(recipients)
    msg["Message-ID"] = f"<{budget_alert_id(alert.key, alert.period, alert.percent)}@bdg>"
    if alert.percent >= REACHED_PERCENT:
        msg["Subject"] = f"[bdg] {alert.tenant}: {what} budget cap reached{period}"
        msg.set_content(
            f"The cap {alert.key} was reached{period}: spent ${alert.spent_usd} of "
            f"${alert.cap_usd}.\n\n"
            "Its model calls are refused and its running jobs are suspended\n"
            "(suspended_budget) until a tenant admin raises the cap (PUT /budgets/tenant,\n"
            "PUT /budgets/users/{user} or POST /jobs/{id}/budget); they then resume\n"
            "where they stopped.\n"
        )
        return msg
    msg["Subject"] = f"[bdg] {alert.tenant}: {what} budget at {alert.percent}%{period}"
    msg.set_content(
        f"The monthly cap {alert.key} reached {alert.percent}% in {alert.period}:\n"
        f"spent ${alert.spent_usd} of ${alert.cap_usd}.\n\n"
        "Model calls are refused at 100%; a tenant admin raises the cap\n"
        "(PUT /budgets/tenant or PUT /budgets/users/{user}).\n"
    )
    return msg


class SmtpMailer:
    def __init__(self, settings: AlertSettings, tls: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self.tls = tls or ssl.create_default_context()

    @property
    def enabled(self) -> bool:
        return bool(self.settings.bdg_smtp_host and self.settings.recipients)

    async def send(self, alert: Alert) -> None:
        s = self.settings
        msg = alert_message(alert, s.bdg_alert_email_from, s.recipients)
        await asyncio.to_thread(self._send, msg)

    def _send(self, msg: EmailMessage) -> None:
        s = self.settings
        assert s.bdg_smtp_host is not None
        with smtplib.SMTP(s.bdg_smtp_host, s.bdg_smtp_port, timeout=s.bdg_smtp_timeout) as smtp:
            if s.bdg_smtp_starttls:
                smtp.starttls(context=self.tls)
            if s.bdg_smtp_user:
                password = s.bdg_smtp_password.get_secret_value() if s.bdg_smtp_password else ""
                smtp.login(s.bdg_smtp_user, password)
            smtp.send_message(msg)

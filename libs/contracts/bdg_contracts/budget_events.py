"""Budget alerts: a monthly cap reached a warning threshold. Events of the ``budget`` aggregate,
whose id is derived from the cap and its period (``budget_alert_id``), so two auditors recording
the same alert collide on its version and it is recorded once.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID, uuid5

from pydantic import Field

from bdg_contracts.base import Event

# Fixed namespace for alert ids: changing it would record every alert of a period again.
BUDGET_NAMESPACE = UUID("0b6f2d1e-8c4a-4f5e-b1d7-3e9a6c2f4d80")


def budget_alert_id(cap_key: str, period: str, percent: int) -> UUID:
    return uuid5(BUDGET_NAMESPACE, f"budget-alert:{cap_key}:{period}:{percent}")


class BudgetWarningReached(Event):
    """The spend of ``period`` on the cap ``cap_key`` reached ``percent`` of the cap (as the
    daily roll-up saw it); ``job_id`` is the alert's id."""

    aggregate: ClassVar[str] = "budget"

    cap_key: str = Field(min_length=1, description="'user:<tenant>:<user>' or 'tenant:<tenant>'")
    period: str = Field(pattern=r"^\d{4}-\d{2}$", description="the month, UTC")
    percent: int = Field(ge=1, le=100)
    cap_usd: float = Field(ge=0)
    spent_usd: float = Field(ge=0)

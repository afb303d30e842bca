"""Why the ledger refused a call."""

from __future__ import annotations

from decimal import Decimal


class BudgetExhaustedError(RuntimeError):
    """A cap would be passed by this call's worst case: the call must not be sent."""

    def __init__(self, key: str, period: str, cap: Decimal, spent: Decimal, wanted: Decimal):
        where = f"{key} ({period})" if period else key
        super().__init__(
            f"budget cap reached for {where}: cap ${cap}, spent ${spent}, this call may cost "
            f"up to ${wanted}; an admin must raise the cap"
        )
        self.key, self.period = key, period
        self.cap, self.spent, self.wanted = cap, spent, wanted

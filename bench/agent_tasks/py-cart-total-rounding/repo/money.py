"""Money as integer cents."""


def to_cents(amount: str) -> int:
    """A price as text ("12.34", "5") in cents (1234, 500)."""
    whole, _, fraction = amount.partition(".")
    return int(whole) * 100 + int(fraction or 0)


def tax(cents: int, rate_percent: int) -> int:
    """The tax on ``cents`` at ``rate_percent``, rounded half up to a cent."""
    return cents * rate_percent // 100

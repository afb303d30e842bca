"""A shopping cart's total."""

from money import tax, to_cents


def total(lines: list[tuple[str, int]], rate_percent: int) -> int:
    """Sum of price x quantity over (price text, quantity) lines, plus tax, in cents."""
    subtotal = sum(to_cents(price) * quantity for price, quantity in lines)
    return subtotal + tax(subtotal, rate_percent)

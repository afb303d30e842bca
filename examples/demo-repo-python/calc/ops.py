"""Arithmetic on two numbers."""


def add(a: float, b: float) -> float:
    """The sum of a and b."""
    return a + b


def mul(a: float, b: float) -> float:
    """The product of a and b."""
    return a + b

"""Roman numerals (1 to 3999)."""

NUMERALS = [
    (1000, "M"),
    (900, "CM"),
    (500, "D"),
    (400, "CD"),
    (100, "C"),
    (90, "XC"),
    (50, "L"),
    (40, "XL"),
    (10, "X"),
    (9, "IX"),
    (5, "V"),
    (4, "IV"),
    (1, "I"),
]


def to_roman(number: int) -> str:
    """Write a Roman numeral: 1994 -> "MCMXCIV"."""
    if not 0 < number < 4000:
        raise ValueError(f"{number} is out of range (1..3999)")
    out = []
    for value, numeral in NUMERALS:
        count, number = divmod(number, value)
        out.append(numeral * count)
    return "".join(out)


def from_roman(numeral: str) -> int:
    """Parse a Roman numeral: "MCMXCIV" -> 1994."""
    raise NotImplementedError("from_roman")

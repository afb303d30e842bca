"""Durations written like "1h30m"."""

import re

UNITS = {"h": 3600, "m": 60}
PART = re.compile(r"(\d+)([hm])")


def parse_duration(text: str) -> int:
    """Parse a duration into seconds: "1h30m" -> 5400."""
    return sum(int(amount) * UNITS[unit] for amount, unit in PART.findall(text))


def format_duration(seconds: int) -> str:
    """Write seconds as hours and minutes: 5400 -> "1h30m" (seconds are dropped)."""
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes or not hours else "")

"""Retry-After as RFC 9110 section 10.2.3 defines it: delay-seconds or an HTTP-date."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bdg_deployer.providers.http_retry import retry_after

NOW = datetime(2026, 12, 5, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        (" 0 ", 0.0),
        ("Sat, 05 Dec 2026 12:00:30 GMT", 30.0),
        ("Sat, 05 Dec 2026 11:59:00 GMT", 0.0),  # a date past: at once
        ("soon", None),
        ("-3", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after(value: str | None, seconds: float | None) -> None:
    assert retry_after(value, NOW) == seconds

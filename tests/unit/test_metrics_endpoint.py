"""A metrics port that cannot be bound is an error in the log, not a service that stops."""

from __future__ import annotations

import logging
import socket

import pytest

from bdg_telemetry import metrics

pytestmark = pytest.mark.timeout(10)


def test_a_taken_port_is_logged_and_the_service_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with caplog.at_level(logging.ERROR, logger="bdg_telemetry.metrics"):
            assert metrics.serve("127.0.0.1", port) is None
    assert f"cannot serve metrics on 127.0.0.1:{port}" in caplog.text


def test_no_port_serves_nothing() -> None:
    assert metrics.serve("127.0.0.1", None) is None

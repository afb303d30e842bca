"""A service's logs are its format only: FastStream's own handler wrote ANSI colours (even off a
terminal) past it, so a service's shutdown warnings came out as coloured noise."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(60)
PROBE = """
import logging
from bdg_runtime.bus import broker
from bdg_runtime.logs import setup_logging

before = broker("nats://127.0.0.1:1", 1.0)  # built before the logs are set up, as a service may
setup_logging("svc", "json", "INFO")
after = broker("nats://127.0.0.1:1", 1.0)
logging.getLogger("faststream").warning("shutting down")
logging.getLogger("faststream.broker").error("consumer cancelled")
logging.getLogger("faststream.broker").debug("one message")  # per-message: not shown
"""


def test_faststream_logs_go_through_the_services_format_without_colour() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, check=True)
    out = done.stdout.decode() + done.stderr.decode()
    assert "\x1b[" not in out, out
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(e["level"], e["service"], e["msg"]) for e in lines] == [
        ("warning", "svc", "shutting down"),
        ("error", "svc", "consumer cancelled"),
    ]

"""Tracing is configured by the standard OTEL_* variables alone, and off costs nothing: no
OpenTelemetry SDK module is even imported by a service, and every span is the shared no-op."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bdg_telemetry import tracing

pytestmark = pytest.mark.timeout(60)
ENDPOINT = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}


@pytest.mark.parametrize(
    ("env", "on"),
    [
        ({}, False),  # off by default
        (ENDPOINT, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, True),
        ({**ENDPOINT, "OTEL_SDK_DISABLED": "true"}, False),
        ({**ENDPOINT, "OTEL_SDK_DISABLED": "TRUE "}, False),
        ({**ENDPOINT, "OTEL_SDK_DISABLED": "false"}, True),
        ({**ENDPOINT, "OTEL_TRACES_EXPORTER": "none"}, False),
        ({**ENDPOINT, "OTEL_TRACES_EXPORTER": "console"}, False),
        ({**ENDPOINT, "OTEL_TRACES_EXPORTER": "console, otlp"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": ""}, False),
    ],
)
def test_the_otel_variables_switch_tracing(env: dict[str, str], on: bool) -> None:
    assert tracing.configured(env) is on


PROBE = """
import json, sys
from bdg_telemetry import tracing
import bdg_runtime.service, bdg_runtime.consumer, bdg_gateway.app, bdg_llm.recorded_calls
import bdg_sandbox.client, bdg_tools.calls
on = tracing.setup("probe")
with tracing.span("x", {"a": 1}, parent="00-" + "1" * 32 + "-" + "2" * 16 + "-01") as s:
    same = s is tracing.NO_SPAN
    parent = tracing.current_traceparent()
sdk = sorted(m for m in sys.modules if m.startswith("opentelemetry.sdk"))
print(json.dumps({"on": on, "same": same, "parent": parent, "sdk": sdk}))
"""


def _probe(env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=50
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_off_no_sdk_is_imported_and_spans_are_the_shared_no_op() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    assert _probe(env) == {"on": False, "same": True, "parent": None, "sdk": []}


def test_on_the_sdk_is_loaded_and_a_span_continues_the_parent_trace() -> None:
    env = {
        **os.environ,
        **ENDPOINT,
        "OTEL_BSP_SCHEDULE_DELAY": "60000",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "1",
    }
    result = _probe(env)
    assert result["on"] is True
    assert result["same"] is False
    assert str(result["parent"]).startswith("00-" + "1" * 32 + "-")
    assert result["parent"] != "00-" + "1" * 32 + "-" + "2" * 16 + "-01"
    assert "opentelemetry.sdk.trace" in result["sdk"]  # type: ignore[operator]

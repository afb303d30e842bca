"""The Grafana dashboard in ops/grafana parses, shows what an operator asks for (jobs per
state, step latency, dead letters, spend), and queries only metrics the processes export."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.metrics import MetricWrapperBase

from bdg_telemetry import metrics

pytestmark = pytest.mark.timeout(10)
DASHBOARD = Path(__file__).resolve().parents[2] / "ops" / "grafana" / "bdg.json"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def families() -> dict[str, str]:
    """Every metric the processes serve: name -> type."""
    found = [
        family
        for value in vars(metrics).values()
        if isinstance(value, MetricWrapperBase)
        for family in value.describe()
    ]
    found += list(metrics.DroppedSpans().collect())
    return {f.name: f.type for f in found}


def exported() -> set[str]:
    """Every sample name scraped (a counter ``x`` is scraped as ``x_total``)."""
    return {name + end for name, kind in families().items() for end in SUFFIXES[kind]}


def queries(dashboard: dict[str, Any]) -> dict[str, list[str]]:
    return {
        panel["title"]: [target["expr"] for target in panel["targets"]]
        for panel in dashboard["panels"]
    }


def test_every_metric_the_dashboard_queries_is_exported() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    named = {
        name
        for exprs in queries(dashboard).values()
        for expr in exprs
        for name in re.findall(r"\bbdg_[a-z_]+\b", expr)
    }
    assert named, "the dashboard queries something"
    assert named <= exported(), named - exported()
    # ... and every metric exported has a panel.
    shown = {re.sub(r"_(total|bucket|count|sum)$", "", n) for n in named}
    assert set(families()) <= shown, set(families()) - shown


def test_the_dashboard_shows_jobs_latency_dead_letters_and_spend() -> None:
    by_title = queries(json.loads(DASHBOARD.read_text()))
    wanted = {
        "Jobs per state": "bdg_jobs",
        "Step latency p95 by service and event": "bdg_handler_seconds_bucket",
        "Dead letters (1 h)": "bdg_dead_letters_total",
        "Spend by operation (USD, 24 h)": "bdg_model_cost_usd_total",
    }
    for title, metric in wanted.items():
        assert any(metric in expr for expr in by_title[title]), title
    ids = [p["id"] for p in json.loads(DASHBOARD.read_text())["panels"]]
    assert len(ids) == len(set(ids))


def test_a_query_of_a_metric_nobody_exports_is_caught() -> None:
    # The check above would fail on a misspelt or removed metric.
    broken = {"panels": [{"title": "x", "targets": [{"expr": "rate(bdg_jobs_total[5m])"}]}]}
    names = {n for e in queries(broken)["x"] for n in re.findall(r"\bbdg_[a-z_]+\b", e)}
    assert not names <= exported()

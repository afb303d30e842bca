"""How `bdg deploy` prints a site and its releases: one record a line (``records.py``)."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from bdg_cli.records import print_records
from bdg_jobs.site_reading.views import SiteView

console = Console(highlight=False, soft_wrap=True)


def percent(value: float) -> str:
    return f"{value:g}%"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def print_view(view: SiteView) -> None:
    site = view.site_json()
    canary = site["canary"]
    rolling = (
        f", canary {canary['release']} at {percent(canary['percent'])} "
        f"(stage {canary['stage']}/{canary['stages']})"
        if canary
        else ""
    )
    console.print(f"site {site['id']} {site['repo']} ({site['target']})", markup=False)
    console.print(
        f"production {site['production_url'] or '-'}: {site['stable'] or 'no release'}{rolling}",
        markup=False,
    )
    print_records(
        ("RELEASE", "STATE", "TRAFFIC", "REQUESTS", "ERRORS", "RATE", "P50MS", "P95MS", "WHY"),
        (
            (
                r["id"],
                r["state"],
                percent(r["traffic_percent"]),
                str(r["requests"]),
                str(r["errors"]),
                f"{r['error_rate']:.2%}",
                _ms(r["p50_ms"]),
                _ms(r["p95_ms"]),
                r["reason"] or "",
            )
            for r in view.releases_json()
        ),
    )


def releases_json(view: SiteView) -> dict[str, Any]:
    return {"site": view.site_json(), "releases": view.releases_json()}


def print_sites(sites: list[dict[str, Any]]) -> None:
    print_records(
        ("SITE", "TARGET", "STABLE", "CANARY", "REPO"),
        (
            (
                s["id"],
                s["target"],
                s["stable"] or "-",
                f"{s['canary']['release']} {percent(s['canary']['percent'])}"
                if s["canary"]
                else "-",
                s["repo"],
            )
            for s in sites
        ),
    )


def canary_of(site: dict[str, Any]) -> str:
    canary = site["canary"]
    return f"{canary['release']} {percent(canary['percent'])}" if canary else "-"

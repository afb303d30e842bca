"""The audit report of a period (seed 9.2): actions by user and kind, costs, deploys and
rollbacks, approvals and who gave them; as CSV and as a printable HTML page. Pure: it folds
exported CSV lines one by one, holding counts, never the rows.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from bdg_audit.chain import COLUMNS

DEPLOY_ACTIONS = frozenset(
    {"deploy.done", "deploy.promoted", "rollback.requested", "rollback.done"}
)
APPROVALS = {
    "plan.approved": "approved_by",
    "deploy.approved": "approved_by",
    "tool.approved": "approved_by",
    "tool.denied": "denied_by",
}


@dataclass
class PeriodReport:
    first: str
    last: str
    actions: Counter[tuple[str, str]] = field(default_factory=Counter)
    cost_by_user: defaultdict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    deploys: list[tuple[str, str, str, str]] = field(default_factory=list)  # time, job, what, to
    approvals: list[tuple[str, str, str, str]] = field(default_factory=list)  # time, job, what, who

    def add(self, cells: list[str]) -> None:
        job, user, action, params, cost, timestamp = cells[:6]
        self.actions[(user, action)] += 1
        self.cost_by_user[user] += Decimal(cost)
        if action in DEPLOY_ACTIONS:
            data = json.loads(params)
            target = data.get("url") or data.get("to_url") or data.get("why", "")
            self.deploys.append((timestamp, job, action, str(target)))
        if action in APPROVALS:
            who = str(json.loads(params).get(APPROVALS[action], ""))
            self.approvals.append((timestamp, job, action, who))

    @property
    def total_cost(self) -> Decimal:
        return sum(self.cost_by_user.values(), Decimal())


def fold(lines: Iterable[bytes], first: str, last: str) -> PeriodReport:
    """The report of exported CSV lines (the header line is skipped)."""
    report = PeriodReport(first, last)
    for line in lines:
        for cells in csv.reader([line.decode()]):
            if len(cells) == len(COLUMNS) and cells[0] != COLUMNS[0]:
                report.add(cells)
    return report


def as_csv(report: PeriodReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "time", "job", "user", "action", "detail", "count", "cost"])
    for (user, action), n in sorted(report.actions.items()):
        writer.writerow(["actions", "", "", user, action, "", n, ""])
    for user, cost in sorted(report.cost_by_user.items()):
        writer.writerow(["costs", "", "", user, "", "", "", f"{cost:f}"])
    writer.writerow(["costs", "", "", "(all)", "", "", "", f"{report.total_cost:f}"])
    for time, job, action, target in sorted(report.deploys):
        writer.writerow(["deploys", time, job, "", action, target, "", ""])
    for time, job, action, who in sorted(report.approvals):
        writer.writerow(["approvals", time, job, who, action, "", "", ""])
    return out.getvalue()


def _table(title: str, head: list[str], rows: Iterable[Iterable[object]]) -> str:
    cells = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    heads = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    return f"<h2>{html.escape(title)}</h2><table><tr>{heads}</tr>{cells}</table>"


def as_html(report: PeriodReport, tenant: str) -> str:
    title = f"Audit report of {tenant}, {report.first} to {report.last}"
    body = "".join(
        [
            _table(
                "Actions by user and kind",
                ["user", "action", "count"],
                [(u, a, n) for (u, a), n in sorted(report.actions.items())],
            ),
            _table(
                "Costs (USD)",
                ["user", "cost"],
                [
                    *((u, f"{c:f}") for u, c in sorted(report.cost_by_user.items())),
                    ("all users", f"{report.total_cost:f}"),
                ],
            ),
            _table(
                "Deploys and rollbacks",
                ["time", "job", "what", "url / reason"],
                sorted(report.deploys),
            ),
            _table("Approvals", ["time", "job", "what", "who"], sorted(report.approvals)),
        ]
    )
    style = (
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}"
        "td,th{border:1px solid #999;padding:.2em .5em;text-align:left}"
        "@media print{h2{page-break-after:avoid}table{page-break-inside:auto}}"
    )
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )

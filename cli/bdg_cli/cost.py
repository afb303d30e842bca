"""`bdg cost`: the tenant's model spend by operation, user, day or job, read from the ledger."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

import psycopg
import typer
from rich.console import Console
from rich.table import Table

from bdg_cli.context import caller, connected, run
from bdg_cli.options import Tenant
from bdg_cli.records import AsJson, json_text
from bdg_jobs.ledger.costs import CostRow, GroupBy, costs

console = Console(highlight=False, soft_wrap=True)
DAY = ["%Y-%m-%d"]


def table(rows: list[CostRow], group_by: GroupBy) -> Table:
    out = Table(title=f"cost by {group_by.value}", title_justify="left")
    out.add_column(group_by.value)
    for name in ("calls", "no usage", "prompt tokens", "completion tokens", "USD"):
        out.add_column(name, justify="right")
    for r in rows:
        usd = f"{r.cost_usd:.6f}"
        tokens = (str(r.prompt_tokens), str(r.completion_tokens))
        out.add_row(r.key, str(r.calls), str(r.counted_calls), *tokens, usd)
    out.add_row("total", "", "", "", "", f"{sum((r.cost_usd for r in rows), start=0):.6f}")
    return out


def cost(
    by: Annotated[GroupBy, typer.Option(help="group by")] = GroupBy.operation,
    since: Annotated[
        datetime | None,
        typer.Option("--from", formats=DAY, help="first day, YYYY-MM-DD (UTC)", show_default=False),
    ] = None,
    until: Annotated[
        datetime | None,
        typer.Option("--to", formats=DAY, help="last day, included", show_default=False),
    ] = None,
    job: Annotated[
        str | None, typer.Option(help="only this job's calls (a job id)", show_default=False)
    ] = None,
    as_json: AsJson = False,
    tenant: Tenant = None,
) -> None:
    """The tenant's model spend (settled calls) by operation, user, day or job."""

    async def main() -> None:
        who = caller(tenant)
        async with (
            connected() as conn,
            await psycopg.AsyncConnection.connect(conn.database_url, autocommit=True) as db,
        ):
            first = since.date() if since else None
            last = until.date() if until else None
            rows = await costs(db, who.tenant_id, by, first, last, job)
        if as_json:
            print(json_text([asdict(r) for r in rows]))
            return
        console.print(table(rows, by))

    run(main())

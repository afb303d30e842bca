"""`bdg dlq list|retry`: the dead letters, and sending one's job back into its failed step."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from bdg_cli import listings, render
from bdg_cli.context import connected, run
from bdg_cli.options import default_user
from bdg_cli.records import AsJson, json_text, print_records
from bdg_contracts import subjects
from bdg_runtime.dlq import DeadLetter, list_dead_letters, retry_dead_letter

app = typer.Typer(help="Dead letters: messages a service gave up on.", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)


@app.command("list")
def list_letters(
    limit: Annotated[int, typer.Option(min=1)] = 1000, as_json: AsJson = False
) -> None:
    """Every dead letter still held, oldest first, one per line."""

    async def main() -> list[DeadLetter]:
        async with connected() as conn:
            # list_dead_letters asks an empty, never-used stream for message 0 (a bad request).
            held = (await conn.js.stream_info(subjects.dlq_stream())).state.messages
            return await list_dead_letters(conn.js, limit) if held else []

    letters = run(main())
    if as_json:
        print(json_text(listings.dead_letter_records(letters)))
    elif letters:
        print_records(listings.DEAD_LETTER_COLUMNS, listings.dead_letter_rows(letters))
    else:
        console.print("no dead letters")


@app.command("retry")
def retry(
    seq: Annotated[int, typer.Argument(min=1, help="the letter's seq, from `bdg dlq list`")],
    operator: Annotated[
        str | None, typer.Option(help="who retries, for the log [default $USER]")
    ] = None,
) -> None:
    """Put the letter's job back into the failed step, publish its event again, drop the letter."""

    async def main() -> None:
        async with connected() as conn:
            job_id = await retry_dead_letter(
                conn.js, conn.app, conn.redrive, seq, operator or default_user()
            )
            job = await conn.app.load(job_id)
        console.print(f"retried dead letter #{seq}: job {job_id} is", render.state_text(job.state))

    run(main())

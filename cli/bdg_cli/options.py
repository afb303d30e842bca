"""Options shared by many commands, and who runs them, without importing what they connect to.

Kept apart from ``context`` (the composition root: contracts, psycopg, NATS) so that the quick
read-only commands (`bdg job list`, `bdg search`) can declare their options without it.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import sys
from typing import Annotated, NoReturn
from uuid import UUID

import typer

JobId = Annotated[
    UUID, typer.Argument(metavar="JOB", help="the job's id (a UUID)", show_default=False)
]
Tenant = Annotated[
    str | None, typer.Option(help="tenant [env BDG_TENANT, default local]", show_default=False)
]
User = Annotated[
    str | None, typer.Option(help="user [env BDG_USER, default $USER]", show_default=False)
]


def tenant_id(tenant: str | None = None) -> str:
    """The option first, then ``BDG_TENANT``, then "local"."""
    return tenant or os.environ.get("BDG_TENANT") or "local"


def default_user() -> str:
    with contextlib.suppress(Exception):
        return os.environ.get("BDG_USER") or os.environ.get("USER") or getpass.getuser()
    return "local"


def fail(message: str, code: int = 1) -> NoReturn:
    """``error: message`` on stderr (bold red on a terminal), then exit with ``code``.
    Plain ANSI rather than rich, whose import costs more than a quick command's whole start."""
    line = f"error: {message}"
    if sys.stderr.isatty() and not os.environ.get("NO_COLOR"):
        line = f"\x1b[1;31m{line}\x1b[0m"
    print(line, file=sys.stderr, flush=True)
    raise typer.Exit(code)

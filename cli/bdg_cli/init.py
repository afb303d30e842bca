"""``bdg init --template NAME DIR``: a new project from one of ``templates/``, committed.

The first commit is made by a fixed bot identity with no hooks and no user or system git
configuration, so it is the same whoever runs it and no local hook (a commit-msg check, a
signing requirement) can make it fail or change it. DIR must be missing or empty: a template is
never copied over someone's files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Annotated

import typer

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
BOT = {
    "GIT_AUTHOR_NAME": "BigDaddyG bot",
    "GIT_AUTHOR_EMAIL": "bot@bigdaddyg.invalid",
    "GIT_COMMITTER_NAME": "BigDaddyG bot",
    "GIT_COMMITTER_EMAIL": "bot@bigdaddyg.invalid",
}
# What a developer's copy of a template may hold that is not the template.
LEFT_OUT = shutil.ignore_patterns("node_modules", "dist", "coverage", ".git", ".vercel")


class InitError(ValueError):
    """Why a project cannot be made (printed, exit code 2, nothing written)."""


def templates() -> list[str]:
    return sorted(p.name for p in TEMPLATES.iterdir() if p.is_dir())


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, **BOT, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", f"core.hooksPath={os.devnull}", *args],
        env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return done.stdout.strip()


def check_target(dest: Path) -> None:
    if dest.exists() and not dest.is_dir():
        raise InitError(f"DIR {dest} exists and is not a directory")
    if dest.is_dir() and any(dest.iterdir()):
        raise InitError(f"DIR {dest} is not empty: bdg init only fills a new or empty directory")


def init_project(template: str, dest: Path) -> str:
    """``template`` copied into ``dest`` and committed on ``main``; the commit id."""
    if template not in templates():
        raise InitError(f"--template {template!r} is unknown; choose one of {templates()}")
    check_target(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(TEMPLATES / template, dest, ignore=LEFT_OUT, dirs_exist_ok=True)
    # --template= : no template directory, so no sample hooks are installed either.
    _git(dest, "init", "-q", "-b", "main", "--template=")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "--no-verify", "--no-gpg-sign", "-m", f"Start from {template}")
    return _git(dest, "rev-parse", "HEAD")


def register(app: typer.Typer) -> None:
    @app.command("init")
    def init_command(
        directory: Annotated[Path, typer.Argument(metavar="DIR", help="new or empty directory")],
        template: Annotated[str, typer.Option(help="a folder of templates/")] = "agent-starter",
    ) -> None:
        """Make a new project from a template in DIR, as one commit on main."""
        try:
            commit = init_project(template, directory)
        except InitError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(2) from None
        typer.echo(f"{directory}: {template} committed as {commit[:12]} on main")

"""Every `bdg` command README shows exists, with the options it shows.

README's command blocks are what a newcomer types first; a renamed command or option there fails
on the first try. This walks the CLI's own command tree (click, under typer) for each line, so a
README line naming a command or flag the CLI does not have fails here. The e2e tests run the
commands themselves (tests/e2e/test_bdg_up.py, test_demo.py, test_newcomer.py).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main

from bdg_cli.main import app

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def readme_bdg_lines() -> list[str]:
    """Each `bdg ...` command in README's shell blocks, its comment removed."""
    lines: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        for raw in block.splitlines():
            line = raw.split(" #")[0].strip()
            words = line.split()
            if "bdg" not in words:
                continue
            lines.append(" ".join(words[words.index("bdg") :]))
    return lines


def is_group(command: Any) -> bool:
    # typer vendors click and its groups are not click.Group: ask for sub-commands instead.
    return hasattr(command, "commands")


def alternatives(word: str) -> list[str]:
    """README writes `pause|resume|cancel` for several commands on one line."""
    return word.split("|")


def check_line(line: str) -> list[str]:
    """What in ``line`` the CLI does not know (empty: all of it exists)."""
    problems: list[str] = []
    words = shlex.split(line.replace("|", "\\|"))[1:]
    words = [w.replace("\\|", "|") for w in words]
    root = typer.main.get_command(app)
    frontier: list[Any] = [root]
    index = 0
    while index < len(words) and all(is_group(c) for c in frontier):
        names = alternatives(words[index])
        groups = [c for c in frontier if is_group(c)]
        found = [g.commands[n] for g in groups for n in names if n in g.commands]
        if not found:
            break
        if len(found) != len(names) * len(groups):
            missing = [n for n in names if not any(n in g.commands for g in groups)]
            problems.append(f"unknown command {missing} in {line!r}")
        frontier = found
        index += 1
    if any(is_group(c) for c in frontier) and index < len(words):
        problems.append(f"unknown command {words[index]!r} in {line!r}")
    for word in words[index:]:
        option = word.split("=")[0]
        if not option.startswith("-"):
            continue
        for command in frontier:
            known = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
            if option.strip("[]") not in known:
                problems.append(f"{command.name}: no option {option!r} in {line!r}")
    return problems


def test_readme_shows_commands() -> None:
    assert len(readme_bdg_lines()) >= 20


@pytest.mark.parametrize("line", readme_bdg_lines())
def test_every_readme_command_exists(line: str) -> None:
    assert check_line(line) == []


def test_check_catches_a_stale_line() -> None:
    assert check_line("bdg job frobnicate JOB")
    assert check_line("bdg job show JOB --no-such-flag")
    assert check_line("bdg job pause|nosuch JOB")
    assert check_line("bdg job show JOB --at 3") == []

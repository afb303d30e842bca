"""Command groups whose commands are imported only when one runs (or shows its own help).

Importing every command's module up front (pydantic contracts, psycopg, NATS, the model and
tool clients) took seconds before `bdg` did anything, even for ``--help``. A ``LazyGroup`` knows
its lazy commands by name and one-line help, lists them from that table, and builds a command
from its module the first time it is looked up to run.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any, ClassVar

import typer
import typer.main
from typer._click.core import Command, Context  # typer's own click
from typer._click.formatting import HelpFormatter
from typer.core import TyperCommand, TyperGroup

Loader = Callable[[], typer.Typer]


def registered(module: str) -> Loader:
    """A module whose ``register(app)`` adds its command(s) to an app: a Typer of its own."""

    def load() -> typer.Typer:
        own = typer.Typer()
        importlib.import_module(f"bdg_cli.{module}").register(own)
        return own

    return load


def command(module: str, name: str, attr: str | None = None) -> Loader:
    """A module's command function (``attr``, default ``name``) as a one-command Typer."""

    def load() -> typer.Typer:
        own = typer.Typer()
        own.command(name)(getattr(importlib.import_module(f"bdg_cli.{module}"), attr or name))
        return own

    return load


def group(module: str, attr: str = "app") -> Loader:
    def load() -> typer.Typer:
        found: typer.Typer = getattr(importlib.import_module(f"bdg_cli.{module}"), attr)
        return found

    return load


def built(app: typer.Typer, name: str) -> Command:
    """A loaded Typer as its command ``name`` when it has one, else as a group."""
    app.rich_markup_mode = None  # square brackets are text, not rich markup
    for info in app.registered_commands:
        assert info.callback is not None
        if typer.main.get_command_name(info.name or info.callback.__name__) == name:
            found = typer.main.get_command_from_info(
                info, pretty_exceptions_short=True, rich_markup_mode=None
            )
            return one_line_help(found)
    return one_line_help(typer.main.get_group(app))


def one_line_help(command: Command) -> Command:
    """Each command's line in its group's list is its help's first paragraph, whole: click
    would cut it at the column's width ("...") and rich kept the docstring's line breaks."""
    if not command.short_help and command.help:
        command.short_help = " ".join(command.help.split("\n\n")[0].split())
    if not isinstance(command, LazyGroup):  # a lazy group's commands get theirs when built
        for sub in getattr(command, "commands", {}).values():
            one_line_help(sub)
    return command


class LazyCommands(MutableMapping[str, Command]):
    """A group's commands: the eager ones as given, the lazy ones built on first lookup."""

    def __init__(self, eager: Mapping[str, Command], lazy: Mapping[str, tuple[Loader, str]]):
        self.loaded: dict[str, Command] = {n: one_line_help(c) for n, c in eager.items()}
        self.lazy = lazy

    def __getitem__(self, name: str) -> Command:
        if name not in self.loaded:
            found = built(self.lazy[name][0](), name)
            found.name = name
            self.loaded[name] = found
        return self.loaded[name]

    def __setitem__(self, name: str, command: Command) -> None:
        self.loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self.loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self.loaded, *self.lazy]))

    def __len__(self) -> int:
        return len(set(self.loaded) | set(self.lazy))


class LazyGroup(TyperGroup):
    """A group with lazy commands (``lazy``: name -> (loader, one-line help)), listed in
    help from that table without importing them."""

    lazy: ClassVar[Mapping[str, tuple[Loader, str]]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = self.lazy_commands = LazyCommands(dict(self.commands), self.lazy)
        self.listing = False

    def list_commands(self, ctx: Context) -> list[str]:
        return list(self.commands)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if self.listing and cmd_name in self.lazy and cmd_name not in self.lazy_commands.loaded:
            line = self.lazy[cmd_name][1]  # for the list only: nothing imported
            return TyperCommand(cmd_name, help=line, short_help=line)
        return self.commands.get(cmd_name)

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        self.listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self.listing = False

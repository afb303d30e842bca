"""The `bdg` command: the root group and the `job` group, whose commands are imported only
when one runs (``bdg_cli.lazy``); each line here is a command's line in ``--help``.

``tests/unit/test_cli_startup.py`` checks that importing this module imports no heavy one;
``python -m bench.cli_startup`` measures the start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import typer

from bdg_cli.lazy import LazyGroup, Loader, command, group, registered


def _job_group() -> typer.Typer:
    from bdg_cli import jobs

    jobs.app.info.cls = JobGroup
    return jobs.app


class JobGroup(LazyGroup):
    """`bdg job`: the commands of ``jobs.py`` eagerly, the others when they run."""

    lazy: ClassVar[Mapping[str, tuple[Loader, str]]] = {
        "show": (registered("job_show"), "The job now, what it waits for and how to continue it."),
        "plan": (command("job_plan", "plan"), "The job's plan: its versions, one whole, a diff."),
        "tools": (command("job_tools", "tools"), "The gated tool calls the job waits on."),
        "approve-tool": (
            command("job_tools", "approve-tool", "approve_tool"),
            "Approve a gated tool call: it runs (once) and the job resumes.",
        ),
        "deny-tool": (
            command("job_tools", "deny-tool", "deny_tool"),
            "Deny a gated tool call: it never runs; the job resumes.",
        ),
        "attempts": (
            registered("job_attempts"),
            "Each coder/tester attempt of the job: trigger, tools, tokens, files, tests, review.",
        ),
        "replay": (
            registered("job_replay"),
            "Re-run the job's handlers on its recorded answers; exit 1 at the first divergence.",
        ),
        "fork": (registered("job_fork"), "Start a new job from the first AT events of JOB."),
    }


class Root(LazyGroup):
    lazy: ClassVar[Mapping[str, tuple[Loader, str]]] = {
        "up": (
            registered("up_command"),
            "Start the stack, sandboxd, the local model and every service.",
        ),
        "init": (registered("init"), "Make a new project from a template, as one commit."),
        "demo": (registered("demo"), "Run the reference job end to end (or --live, a real one)."),
        "job": (_job_group, "Create, inspect and steer jobs."),
        "index": (group("index"), "Index repositories for code search."),
        "search": (command("search", "search"), "Search the tenant's indexed code."),
        "cost": (command("cost", "cost"), "The tenant's model spend by operation, user or day."),
        "dlq": (group("dlq"), "Dead letters: messages a service gave up on."),
        "replay": (registered("replay"), "Empty a read model and rebuild it from the event log."),
        "sandbox": (group("sandbox"), "sandboxd, the sandbox daemon (bdg up starts one too)."),
        "audit": (group("audit"), "The signed audit trail: verify, export, report."),
    }


app = typer.Typer(
    name="bdg",
    cls=Root,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def bdg() -> None:
    """BigDaddyG Agent: goal -> plan -> code -> test -> review -> deploy, event-sourced."""


if __name__ == "__main__":
    app()

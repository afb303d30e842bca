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
    return typer.Typer(cls=JobGroup, help="Create, inspect and steer jobs.", no_args_is_help=True)


class JobGroup(LazyGroup):
    """`bdg job`: every command imported when it runs (`job list` imports neither the contracts
    nor the event store that the others need)."""

    lazy: ClassVar[Mapping[str, tuple[Loader, str]]] = {
        "create": (command("jobs", "create"), "Request a job; prints its id."),
        "list": (
            command("job_list", "list", "list_jobs"),
            "The tenant's jobs from the agent_config read model, newest first, one per line.",
        ),
        "events": (
            command("jobs", "events"),
            "The job's events; with --follow, live until it is done, failed or cancelled.",
        ),
        "approve": (
            command("jobs", "approve"),
            "Approve the plan (or, with --deploy, the deploy).",
        ),
        "cancel": (command("jobs", "cancel"), "Cancel the job for good."),
        "retry": (command("jobs", "retry"), "Run the failed step again."),
        "pause": (
            command("jobs", "pause"),
            "Pause the job; work in flight finishes, nothing new starts.",
        ),
        "resume": (command("jobs", "resume"), "Resume a paused job where it stopped."),
        "budget": (
            command("jobs", "budget"),
            "Raise the job's cost limit; a job suspended for its budget resumes.",
        ),
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
        "deploy": (group("deploy"), "Sites and releases: list, status, promote, rollback."),
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

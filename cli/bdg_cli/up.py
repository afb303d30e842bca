"""`bdg up`: the stack (embedded unless configured), sandboxd (unless one answers), the local model
(unless an endpoint is set) and every service as its own OS process; all stopped on the way out.
The embedded NATS and PostgreSQL are supervised like the services: restarted when they die."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from bdg_audit.settings import AuditSettings
from bdg_cli.gateway_listener import listener_for
from bdg_cli.own_sandbox import OwnSandbox, default_roots, ensure_sandbox, grant_roots
from bdg_cli.procs import Listener, Supervisor
from bdg_cli.web_sign_in import sign_in_env
from bdg_jobs.sources import SourceGrantsError
from bdg_runtime.embedded import EmbeddedStack, resolve_urls, start_embedded
from bdg_runtime.local_llm import ensure_local_model_server, service_env
from bdg_runtime.settings import Settings

SERVICES = ("gateway", "planner", "coder", "tester", "deployer", "indexer", "auditor", "edge")
# The edge is the deployer's local provider, in its package (it shares the artifact store and
# route table modules), but its own process.
MODULES = {"edge": "bdg_deployer.edge.main"}
# Services that never call a chat model (the indexer embeds offline or with OpenAI, which the
# local chat model cannot do). Any other name, a test's own command included, may call one.
MODEL_FREE = frozenset({"gateway", "tester", "deployer", "indexer", "auditor", "edge"})
# Services that read or write the audit trail's S3: the embedded SeaweedFS starts only for them.
S3_USERS = frozenset({"gateway", "auditor"})


def needs_model(services: Sequence[str]) -> bool:
    """Whether any of ``services`` may call a chat model: the local one is started only then
    (it takes seconds and a gigabyte of memory)."""
    return any(name not in MODEL_FREE for name in services)


def metrics_ports(names: Sequence[str], base: int | None) -> dict[str, dict[str, str]]:
    """Each service's own ``BDG_METRICS_PORT``: ``base`` plus its place in SERVICES (stable
    whatever subset runs; other names after them). Unset or 0: left as it is."""
    if not base:
        return {}
    order = [*SERVICES, *(n for n in names if n not in SERVICES)]
    return {name: {"BDG_METRICS_PORT": str(base + order.index(name))} for name in names}


def default_commands() -> dict[str, list[str]]:
    return {
        name: [sys.executable, "-m", MODULES.get(name, f"bdg_{name}.main")] for name in SERVICES
    }


def up(
    home: Path | None,
    services: list[str],
    *,
    commands: Mapping[str, Sequence[str]] | None = None,
    console: Console | None = None,
    stop_timeout: float = 10.0,
    sandbox: bool = True,
    source_roots: Sequence[Path] = (),
) -> int:
    """Run `services` (all when empty) until SIGINT/SIGTERM; 0 on a requested stop.

    `commands` maps a service name to its argv; tests pass throwaway programs here. With
    `sandbox`, a sandboxd is started unless one answers at AGENT_SANDBOX_ENDPOINT, reading local
    repositories under `source_roots` (default: the current directory and BDG_HOME/demo-repos),
    which are granted to the local tenant unless BDG_SOURCE_GRANTS names the operator's grants.
    """
    console = console or Console(highlight=False)
    catalogue = dict(commands) if commands is not None else default_commands()
    names = services or list(catalogue)
    if unknown := [name for name in names if name not in catalogue]:
        _say(console, f"unknown services: {', '.join(unknown)}; known: {', '.join(catalogue)}")
        return 2
    settings = Settings() if home is None else Settings(bdg_home=home)
    listeners: dict[str, Listener] = {}
    if "gateway" in names:
        try:  # before anything starts: a taken port stops `bdg up` here, nothing left running
            listeners["gateway"] = listener_for(settings)
        except OSError as error:
            where = f"{settings.gateway_host}:{settings.gateway_port}"
            _say(console, f"gateway: cannot listen on {where}: {error}")
            return 2
    # Until the supervisor takes over the signals, a SIGTERM must still unwind and stop the stack.
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    stack = s3_stack = model_server = None
    own_sandbox: OwnSandbox | None = None
    try:
        database_url, nats_url, stack = resolve_urls(settings)
        where = "embedded under " + str(settings.bdg_home) if stack else "configured"
        _say(console, f"stack {where}: {database_url} {nats_url}")
        audit = AuditSettings(bdg_home=settings.bdg_home)
        s3_env, s3_stack = s3_for(audit, names, lambda line: _say(console, line))
        try:
            grants, roots = grant_roots(settings, tuple(source_roots) or default_roots(settings))
        except SourceGrantsError as error:
            _say(console, str(error))
            return 2
        if sandbox:
            own_sandbox = ensure_sandbox(settings, roots, lambda line: _say(console, line))
        if needs_model(names):
            _, model_server = ensure_local_model_server(
                settings, say=lambda line: _say(console, line)
            )
        else:
            _say(console, f"model: none started ({', '.join(names)} call no chat model)")
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "NATS_URL": nats_url,
            "BDG_HOME": str(settings.bdg_home),
            "BDG_SOURCE_GRANTS": str(grants),
            "AGENT_SANDBOX_ENDPOINT": settings.agent_sandbox_endpoint,
            **service_env(model_server),
            **s3_env,
            **sign_in_env(settings, lambda line: _say(console, line)),
        }
        supervisor = Supervisor(
            {name: catalogue[name] for name in names},
            env,
            console,
            stop_timeout=stop_timeout,
            service_env=metrics_ports(names, settings.bdg_metrics_port),
            servers=[srv for s in (stack, s3_stack) if s is not None for srv in s.servers()],
            listeners=listeners,
        )
        stopped = asyncio.run(supervisor.run())
    except KeyboardInterrupt:
        stopped = True  # interrupted while the stack was still starting
    finally:
        if own_sandbox is not None:
            _say(console, "stopping sandboxd")
            own_sandbox.stop()
        if model_server is not None:
            _say(console, "stopping the local model server")
            model_server.stop()
        if stack is not None:
            _say(console, "stopping the embedded stack")
            stack.stop()
        if s3_stack is not None:
            _say(console, "stopping the embedded S3 (SeaweedFS)")
            s3_stack.stop()
        signal.signal(signal.SIGTERM, previous)
        for listener in listeners.values():
            listener.sock.close()
    return 0 if stopped else 1


def s3_for(
    audit: AuditSettings, names: Sequence[str], say: Callable[[str], None]
) -> tuple[dict[str, str], EmbeddedStack | None]:
    """The audit trail's S3 settings for every service, and the embedded SeaweedFS started
    for them when no endpoint is configured and a service of ``names`` uses S3 (none else)."""
    endpoint, stack = audit.bdg_s3_endpoint, None
    if not endpoint and S3_USERS.intersection(names):
        stack = start_embedded(audit.bdg_home, postgres=False, nats=False, s3=True)
        endpoint = stack.s3_url
        say(f"s3: SeaweedFS embedded under {audit.bdg_home} at {endpoint}")
    elif endpoint:
        say(f"s3: configured at {endpoint}")
    if not endpoint:
        return {}, None
    return {
        "BDG_S3_ENDPOINT": endpoint,
        "BDG_S3_BUCKET": audit.bdg_s3_bucket,
        "BDG_S3_REGION": audit.bdg_s3_region,
        "BDG_S3_ACCESS_KEY": audit.bdg_s3_access_key,
        "BDG_S3_SECRET_KEY": audit.bdg_s3_secret_key,
    }, stack


def _say(console: Console, line: str) -> None:
    console.print(Text.assemble(("[up] ", "bold"), line), soft_wrap=True)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


SourceRoots = Annotated[
    list[Path] | None,
    typer.Option(
        "--source-root",
        help="a directory whose repositories the local tenant's jobs may name (repeatable; "
        "default: the current directory and BDG_HOME/demo-repos; BDG_SOURCE_GRANTS, if set, "
        "wins; SANDBOX_SOURCE_ROOTS, if set, bounds the sandboxd started here)",
        show_default=False,
    ),
]
NoSandbox = Annotated[
    bool, typer.Option("--no-sandbox", help="start no sandboxd (test runs wait for one)")
]


def register(app: typer.Typer) -> None:
    """Add the `up` command to the `bdg` app."""

    @app.command("up")
    def up_command(
        services: Annotated[
            list[str] | None, typer.Argument(help=f"subset of: {' '.join(SERVICES)}")
        ] = None,
        home: Annotated[
            Path | None, typer.Option(help="state dir of the embedded stack (BDG_HOME)")
        ] = None,
        source_root: SourceRoots = None,
        no_sandbox: NoSandbox = False,
    ) -> None:
        """Start the stack and every service as its own process, with prefixed logs."""
        raise typer.Exit(
            up(home, services or [], sandbox=not no_sandbox, source_roots=source_root or ())
        )


if __name__ == "__main__":
    cli = typer.Typer(add_completion=False)
    register(cli)
    cli()

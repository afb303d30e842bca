"""Everything a real job needs, for `bdg demo --live` and the agent bench: one stack, one sandboxd,
one model endpoint and every service as its own process, for the whole run.

- the stack: embedded under BDG_HOME unless DATABASE_URL/NATS_URL are set;
- sandboxd: started unless one answers at AGENT_SANDBOX_ENDPOINT (see own_sandbox);
- the model: OPENAI_BASE_URL / OPENAI_API_KEY / BDG_LLM_RECORDINGS as set, else the offline
  local model (as `bdg up` does);
- the services: real, with no recorded answers: the deploy is the default one, the change as a
  branch ``bdg/<job>`` of the job's repository;
- bounds that keep a job short: coder turns, plan drafts, a step timeout (options, then env).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from bdg_audit.settings import AuditSettings
from bdg_cli.own_sandbox import OwnSandbox, ensure_sandbox, grant_roots
from bdg_cli.procs import Supervisor
from bdg_cli.up import SERVICES, default_commands, s3_for
from bdg_llm.local_server import LocalModelServer
from bdg_llm.settings import LlmSettings
from bdg_runtime.embedded import EmbeddedServer, EmbeddedStack, resolve_urls
from bdg_runtime.local_llm import ROLE_MODELS, ensure_local_model_server, service_env
from bdg_runtime.settings import Settings

Say = Callable[[str], None]
RECORDED_ONLY = "BDG_ANSWERS_FILE"  # every step real: no recorded answers for any


@dataclass(frozen=True)
class LiveBounds:
    """What keeps one job short; None: the environment's value, else the live default."""

    coder_max_steps: int | None = None
    plan_iterations: int | None = None
    step_timeout: float | None = None
    coder_strategy: str | None = None  # loop | pipeline | rewrite | auto (the bench's ablation)
    coder_candidates: int | None = None
    coder_resamples: int | None = None
    coder_early_resample: bool | None = None

    def env(self) -> dict[str, str]:
        """Bounds on time, whatever the model; its context size bounds the coder's turns and
        results on its own (BDG_LLM_CONTEXT_TOKENS, set with the local model's URL)."""
        chosen = {
            "BDG_CODER_MAX_STEPS": self.coder_max_steps,
            "BDG_PLAN_MAX_ITERATIONS": self.plan_iterations,
            "BDG_STEP_TIMEOUT_SECONDS": self.step_timeout,
            "BDG_CODER_STRATEGY": self.coder_strategy,
            "BDG_CODER_CANDIDATES": self.coder_candidates,
            "BDG_CODER_RESAMPLES": self.coder_resamples,
            "BDG_CODER_EARLY_RESAMPLE": self.coder_early_resample,
        }
        defaults: dict[str, object] = {
            "BDG_CODER_MAX_STEPS": 6,
            "BDG_PLAN_MAX_ITERATIONS": 1,
            "BDG_STEP_TIMEOUT_SECONDS": 900,
        }
        env = {name: str(value) for name, value in defaults.items() if not os.environ.get(name)}
        env |= {name: str(value) for name, value in chosen.items() if value is not None}
        return env


NO_MODEL = "no model (no endpoint set and the local model is not installed)"


@dataclass
class LiveStack:
    settings: Settings  # its URLs filled in
    env: dict[str, str]  # every service's environment
    service_env: dict[str, dict[str, str]]  # added to one service's
    model: str  # who answers the model calls
    embedded: bool
    log_path: Path
    servers: tuple[EmbeddedServer, ...] = ()  # the embedded ones, restarted when they die


def describe_model(server: LocalModelServer | None, model: str | None) -> str:
    if os.environ.get("BDG_LLM_RECORDINGS"):
        return f"recorded calls from {os.environ['BDG_LLM_RECORDINGS']}"
    if server is not None:
        return f"{model or server.model} on the offline local server {server.openai_base_url}"
    coder = model or LlmSettings().bdg_model_coder
    if url := os.environ.get("OPENAI_BASE_URL"):
        return f"{coder} at {url}"
    if os.environ.get("OPENAI_API_KEY"):
        return f"{coder} at api.openai.com"
    return NO_MODEL


@contextlib.contextmanager
def live_stack(
    settings: Settings,
    bounds: LiveBounds,
    roots: Sequence[Path],
    say: Say,
    model: str | None = None,
) -> Iterator[LiveStack]:
    """Start the stack, sandboxd and the model (in this thread: they die with it); stop them
    again in reverse order on the way out."""
    stops: list[Callable[[], None]] = []
    try:
        database_url, nats_url, stack = resolve_urls(settings)
        if stack is not None:
            stops.append(_stopping(say, "the embedded stack", stack))
        where = f"embedded under {settings.bdg_home}" if stack else "configured"
        say(f"stack {where}")
        # The audit trail's S3, as `bdg up` has it: its endpoint for every service.
        s3_env, s3_stack = s3_for(AuditSettings(bdg_home=settings.bdg_home), SERVICES, say)
        if s3_stack is not None:
            stops.append(_stopping(say, "the embedded S3 (SeaweedFS)", s3_stack))
        grants, roots = grant_roots(settings, roots)
        sandbox = ensure_sandbox(settings, roots, say)
        if sandbox is not None:
            stops.append(_stopping(say, "sandboxd", sandbox))
        models = {name: model for name in ROLE_MODELS} if model else {}
        _, server = ensure_local_model_server(settings, {**os.environ, **models}, say=say)
        if server is not None:
            stops.append(_stopping(say, "the local model server", server))
        home = settings.bdg_home.expanduser().resolve()
        stops.append(home_of_this_process(home))
        env = {
            **{k: v for k, v in os.environ.items() if k != RECORDED_ONLY},
            **models,
            "DATABASE_URL": database_url,
            "NATS_URL": nats_url,
            "BDG_HOME": str(home),
            "BDG_SOURCE_GRANTS": str(grants),
            "AGENT_SANDBOX_ENDPOINT": settings.agent_sandbox_endpoint,
            **service_env(server, {**os.environ, **models}),
            **bounds.env(),
            **s3_env,
        }
        env.setdefault("JWT_SECRET", secrets.token_urlsafe(48))  # this run's gateway only
        env.setdefault("BDG_LOG_FORMAT", "text")
        configured = settings.model_copy(
            update={"database_url": database_url, "nats_url": nats_url}
        )
        yield LiveStack(
            configured,
            env,
            {},
            describe_model(server, model),
            stack is not None,
            home / "live-services.log",
            tuple(srv for s in (stack, s3_stack) if s is not None for srv in s.servers()),
        )
    finally:
        for stop in reversed(stops):
            stop()


def home_of_this_process(home: Path) -> Callable[[], None]:
    """Make ``home`` this process's BDG_HOME too (until the returned undo is called): the
    commands it sends in-process seal personal fields with BDG_HOME's master key, and the
    services must unwrap them with the same one. Without it, a run with another home than
    the environment's wrote keys no service could read."""
    before = os.environ.get("BDG_HOME")
    os.environ["BDG_HOME"] = str(home)

    def undo() -> None:
        if before is None:
            os.environ.pop("BDG_HOME", None)
        else:
            os.environ["BDG_HOME"] = before

    return undo


def _stopping(
    say: Say, what: str, thing: EmbeddedStack | OwnSandbox | LocalModelServer
) -> Callable[[], None]:
    def stop() -> None:
        say(f"stopping {what}")
        thing.stop()

    return stop


@contextlib.asynccontextmanager
async def running_services(
    live: LiveStack, commands: dict[str, list[str]] | None = None
) -> AsyncIterator[asyncio.Task[bool]]:
    """Every service (or ``commands``) as its own process, logging to ``live.log_path``; the
    task ends when they all gave up (or were stopped on the way out)."""
    live.log_path.parent.mkdir(parents=True, exist_ok=True)
    with live.log_path.open("w") as log:
        supervisor = Supervisor(
            default_commands() if commands is None else commands,
            live.env,
            Console(file=log, width=200, highlight=False),
            service_env=live.service_env,
            servers=live.servers,
        )
        supervised = asyncio.create_task(supervisor.run())
        try:
            yield supervised
        finally:
            supervisor.request_stop()
            await supervised

"""The composition root every service shares: settings, store, bus, consumers, follower, signals.

Nothing connects at import time; ``run`` is called from each service's ``main``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from nats.aio.client import Client
from nats.js import JetStreamContext

from bdg_contracts import subjects
from bdg_jobs.application import JobApplication
from bdg_jobs.migrations import migrate
from bdg_jobs.site_reading.projection import SitesProjection
from bdg_jobs.store import JobStore
from bdg_runtime import heap
from bdg_runtime.at_stop import run_at_stop
from bdg_runtime.bus import (
    BusUnreachableError,
    JetStreamPublisher,
    broker,
    connect,
    declare,
    ensure_streams,
)
from bdg_runtime.consumer import Consumer
from bdg_runtime.follower import follow
from bdg_runtime.heartbeats import StepHeartbeats
from bdg_runtime.logs import setup_logging
from bdg_runtime.process_priority import (
    INTERACTIVE,
    default_nice,
    loop_factory,
    lower_priority,
    lower_session_priority,
)
from bdg_runtime.projection_task import ProjectionTask
from bdg_runtime.reactions import AnyReaction
from bdg_runtime.reconciler import Reconciler
from bdg_runtime.redrive import Redriver
from bdg_runtime.relay import Relay
from bdg_runtime.sandbox_probe import SandboxStatus, probe_sandbox
from bdg_runtime.settings import Settings
from bdg_runtime.watchdog import watch_streams
from bdg_telemetry import metrics, tracing

log = logging.getLogger(__name__)
TRACES_AT_STOP_SECONDS = 3.0
AT_STOP_SECONDS = 5.0  # leases given back; one not back by then expires as a crash's would


class ConfigurationError(RuntimeError):
    """A setting is missing or wrong; the process exits with code 2."""


@dataclass
class ServiceContext:
    name: str
    settings: Settings
    database_url: str
    nats_url: str
    store: JobStore
    app: JobApplication
    nc: Client
    js: JetStreamContext
    redrive: Redriver
    sandbox: SandboxStatus


Reactions = Callable[[ServiceContext], Sequence[AnyReaction]]
Extra = Callable[[ServiceContext, asyncio.Event], Coroutine[Any, Any, None]]


def urls(settings: Settings) -> tuple[str, str]:
    if not settings.database_url or not settings.nats_url:
        raise ConfigurationError(
            "DATABASE_URL and NATS_URL must be set for a service; `bdg up` sets them "
            "(starting the embedded stack when they are unset)"
        )
    return settings.database_url, settings.nats_url


async def serve(
    name: str, reactions: Reactions, extra: Extra | None = None, stop: asyncio.Event | None = None
) -> None:
    settings = Settings()
    subjects.use_namespace(settings.bdg_namespace)
    stop = stop or asyncio.Event()
    database_url, nats_url = urls(settings)
    observe(name, settings)
    await asyncio.to_thread(migrate, database_url)
    store = JobStore.from_url(database_url)
    nc = await connect(nats_url, name)
    js = nc.jetstream()
    await declare("streams", lambda: ensure_streams(js, settings.bdg_duplicate_window_seconds))
    publisher = JetStreamPublisher(js)
    app = JobApplication(store, publisher)
    redrive = Redriver(store, js)
    sandbox = await probe_sandbox(settings.agent_sandbox_endpoint)
    if sandbox.available:
        log.info("sandbox: available at %s: %s", sandbox.endpoint, sandbox.detail)
    else:
        log.warning(
            "sandbox: UNAVAILABLE at %s (%s); steps that run code wait with a visible reason",
            sandbox.endpoint,
            sandbox.detail,
        )
    ctx = ServiceContext(
        name, settings, database_url, nats_url, store, app, nc, js, redrive, sandbox
    )
    bus = broker(nats_url, settings.bdg_step_timeout_seconds)
    heartbeats = StepHeartbeats(database_url)
    consumer = Consumer(name, bus, js, app, settings, heartbeats, nc)
    handlers = list(reactions(ctx))
    for reaction in handlers:
        consumer.register(reaction)
    projection = ProjectionTask(store, database_url)
    sites = ProjectionTask(store, database_url, SitesProjection())
    relay = Relay(store, publisher, database_url)
    reconciler = Reconciler(database_url, redrive, settings.bdg_reconcile_after_seconds)
    background = [
        asyncio.create_task(
            follow(
                database_url,
                [relay, projection, sites, reconciler],
                stop,
                standby=name in INTERACTIVE,  # the API leaves background work to workers
            )
        ),
        asyncio.create_task(watch_streams(js, list(consumer.configs.values()), settings, stop)),
    ]
    if extra is not None:
        background.append(asyncio.create_task(extra(ctx, stop)))
    await declare("subscriptions", bus.start)
    frozen = heap.settle()  # start-up is done: what it made is never collected again
    log.info("%s ready: %d handler(s), %d objects frozen", name, len(bus.subscribers), frozen)
    try:
        await stop.wait()
    finally:
        log.info("%s stopping: finishing messages in hand", name)
        await bus.stop()  # waits up to graceful_timeout for handlers in flight
        await run_at_stop(AT_STOP_SECONDS)  # no handler pays from a lease any more
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await relay.close()
        await heartbeats.close()
        projection.close()
        sites.close()
        with contextlib.suppress(Exception):
            await nc.drain()
        store.close()
        await asyncio.to_thread(tracing.shutdown, TRACES_AT_STOP_SECONDS)  # the last spans
        log.info("%s stopped", name)


def observe(name: str, settings: Settings) -> None:
    """Traces when ``OTEL_*`` configures them; metrics served when ``BDG_METRICS_PORT`` is set."""
    if tracing.setup(name):
        log.info("tracing: spans exported over OTLP/HTTP")
    metrics.name_service(name)
    metrics.serve(settings.bdg_metrics_host, settings.bdg_metrics_port)


def run(name: str, reactions: Reactions, extra: Extra | None = None) -> None:
    """Entry point of a service process: SIGTERM and SIGINT stop it gracefully."""
    settings = Settings()
    setup_logging(name, settings.bdg_log_format, settings.bdg_log_level)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(name, reactions, extra, stop)

    target = settings.bdg_nice if settings.bdg_nice is not None else default_nice(name)
    nice, session = lower_priority(target), lower_session_priority(target)
    factory = loop_factory(settings.bdg_event_loop)
    log.info("%s: nice %d, event loop %s", name, nice, "asyncio" if factory is None else "uvloop")
    if session is not None:
        log.info("%s: its session (autogroup) at nice %d", name, session)
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(main())
    except ConfigurationError as error:
        log.error("%s", error)
        raise SystemExit(2) from error
    except BusUnreachableError as error:
        log.error("%s", error)  # the supervisor restarts us with backoff
        raise SystemExit(1) from error

"""``sandboxd``: serve the sandbox socket, check the host (doctor), build a root filesystem."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from bdg_contracts.clone_hosts import CloneHosts
from bdg_contracts.sources import default_grants_file
from bdg_sandboxd.backends import NoBackendError, choose
from bdg_sandboxd.cache_leases import CacheLeases
from bdg_sandboxd.caches import Caches
from bdg_sandboxd.doctor import doctor, render
from bdg_sandboxd.egress import EgressProxy
from bdg_sandboxd.rootfs import build_rootfs
from bdg_sandboxd.runtime import Runtime
from bdg_sandboxd.server import SandboxServer, socket_path
from bdg_sandboxd.settings import SandboxSettings
from bdg_sandboxd.tenant_disks import DiskLimitError, TenantDisks, probe
from bdg_sandboxd.workspaces import Workspaces

app = typer.Typer(
    name="sandboxd", no_args_is_help=False, add_completion=False, pretty_exceptions_enable=False
)
rootfs_app = typer.Typer(help="the sandbox root filesystem")
app.add_typer(rootfs_app, name="rootfs")
cache_app = typer.Typer(help="the tenants' package caches (<state>/caches)", no_args_is_help=True)
app.add_typer(cache_app, name="cache")
log = logging.getLogger("sandboxd")


def caches(settings: SandboxSettings) -> Caches:
    return Caches(settings.sandbox_state_dir.resolve() / "caches", settings.sandbox_tenant_quota_mb)


async def _serve(settings: SandboxSettings, clone_hosts: CloneHosts) -> None:
    backend = choose(settings.sandbox_backend)
    state = settings.sandbox_state_dir.resolve()
    # Local sources only from where the operator allows: a job's repo path is user input. The
    # state (ours, BDG_HOME's database, bus and index) never, even when a root holds it; but
    # the default root <state>/sources and the demo's repositories are sources.
    roots = settings.sandbox_source_roots or (state / "sources",)
    home = settings.bdg_home.expanduser()
    workspaces = Workspaces(
        state / "workspaces",
        settings.sandbox_tenant_quota_mb,
        source_roots=roots,
        state_dirs=[p for p in (state, home, settings.bdg_index_dir) if p is not None],
        state_exceptions=[state / "sources", home / "demo-repos"],
        # Per tenant: the same grants as the gateway's, judged for the workspace's tenant.
        grants=settings.bdg_source_grants or default_grants_file(home),
        clone_hosts=clone_hosts,
    )
    disk = probe(settings.sandbox_disk_limit)
    if not disk.bounded:
        log.warning("workspace disk NOT bounded during execs: %s", disk.reason)
    disks = TenantDisks(state / "workspaces", settings.sandbox_tenant_quota_mb, disk)
    proxy = EgressProxy(state / "egress.sock", settings.sandbox_registries)
    await proxy.start()
    runtime = Runtime(
        backend,
        workspaces,
        settings.sandbox_max_concurrent,
        settings.sandbox_max_queued,
        proxy_socket=proxy.socket_path,
        rootfs=settings.sandbox_rootfs,
        caches=CacheLeases(caches(settings)),
        ceilings=settings.sandbox_ceilings,
        max_queued_bytes=settings.sandbox_client_queue_mb << 20,
        client_stall_s=settings.sandbox_client_stall_s,
        disks=disks,
    )
    ceilings = settings.sandbox_ceilings
    log.info("exec ceilings: %s; per tenant: %s", ceilings.default, ceilings.tenants or "none")
    server = SandboxServer(runtime, socket_path(settings.agent_sandbox_endpoint))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    try:
        await stop.wait()
    finally:
        log.info("stopping: killing running execs")
        await server.close()
        await proxy.close()
        await asyncio.to_thread(disks.unmount_all)


@app.callback(invoke_without_command=True)
def serve(ctx: typer.Context) -> None:
    """Serve the sandbox socket (the default command)."""
    if ctx.invoked_subcommand is not None:
        return
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stdout,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = SandboxSettings()
    try:
        clone_hosts = CloneHosts.parse(settings.bdg_clone_allow_hosts)
    except ValueError as error:
        log.error("%s", error)
        raise typer.Exit(2) from error
    try:
        asyncio.run(_serve(settings, clone_hosts))
    except (NoBackendError, DiskLimitError) as error:
        log.error("%s", error)
        raise typer.Exit(2) from error


@app.command("doctor")
def doctor_command(
    backend: Annotated[str, typer.Option(help="auto, runc or bwrap")] = "auto",
) -> None:
    """Which backend would run, and which protections hold on this host."""
    report = doctor(backend, SandboxSettings().sandbox_disk_limit)
    typer.echo(render(report))
    raise typer.Exit(0 if report.chosen else 1)


@rootfs_app.command("build")
def rootfs_build(
    target: Annotated[Path, typer.Option(help="where to build it")] = Path(".bdg/rootfs"),
) -> None:
    """Build the sandbox root filesystem with debootstrap (Node.js, Python 3, git)."""
    path = build_rootfs(target)
    typer.echo(f"rootfs ready at {path}; use it with SANDBOX_ROOTFS={path}")


@cache_app.command("usage")
def cache_usage() -> None:
    """Each tenant's cache size, and the quota past which sandboxd clears a cache."""
    store = caches(SandboxSettings())
    for tenant in store.tenants():
        typer.echo(f"{tenant}\t{store.usage(tenant) / 2**20:.1f} MB")
    typer.echo(f"quota per tenant: {store.quota_bytes / 2**20:.0f} MB (SANDBOX_TENANT_QUOTA_MB)")


@cache_app.command("clear")
def cache_clear(
    tenants: Annotated[list[str] | None, typer.Argument(help="tenants; none: every tenant")] = None,
) -> None:
    """Remove package caches. Best when idle: an install using one meanwhile may fail."""
    store = caches(SandboxSettings())
    for tenant in tenants or store.tenants():
        cleared = store.clear(tenant)
        typer.echo(f"{tenant}: {'cleared' if cleared else 'no cache'}")


if __name__ == "__main__":
    app()

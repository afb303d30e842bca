"""sandboxd's settings (environment variables)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from bdg_sandboxd.ceilings import TenantCeilings


def default_endpoint() -> str:
    if os.geteuid() == 0:
        return "unix:///var/run/bigdaddyg-sandbox.sock"
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/bigdaddyg-{os.getuid()}"
    return f"unix://{runtime}/bigdaddyg-sandbox.sock"


class SandboxSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    agent_sandbox_endpoint: str = Field(default_factory=default_endpoint)
    sandbox_state_dir: Path = Field(
        default=Path(".bdg/sandbox"), description="workspaces, bundles, rootfs cache"
    )
    sandbox_backend: str = Field(default="auto", pattern="^(auto|runc|bwrap)$")
    sandbox_disk_limit: str = Field(
        default="auto",
        pattern="^(auto|loop|none)$",
        description="workspaces on a loop-mounted image per tenant (tenant_disks.py): auto uses"
        " it when root, loop requires it, none never",
    )
    sandbox_max_concurrent: int = Field(default=4, ge=1, le=256)
    sandbox_max_queued: int = Field(default=64, ge=0)
    sandbox_tenant_quota_mb: int = Field(
        default=2048,
        ge=1,
        description="a tenant's workspaces; and, counted apart, its package cache (PROTOCOL.md)",
    )
    sandbox_source_roots: tuple[Path, ...] = Field(
        default=(),
        description="host dirs a workspace may be cloned or copied from; unset: <state>/sources",
    )
    bdg_home: Path = Field(
        default=Path(".bdg"),
        description="the installation's state dir: never a source (but its demo-repos folder)",
    )
    bdg_source_grants: Path | None = Field(
        default=None,
        description="JSON file of tenant -> roots (as the gateway reads it); a workspace's local "
        "source must lie under its tenant's roots; unset: BDG_HOME/source-grants.json",
    )
    bdg_clone_allow_hosts: str = Field(
        default="",
        description="internal hosts clone URLs may reach (names, IPs, networks, by commas)",
    )
    bdg_index_dir: Path | None = Field(
        default=None, description="the indexer's clones, if not under BDG_HOME: never a source"
    )
    sandbox_rootfs: Path | None = Field(default=None, description="built rootfs; unset: host's")
    sandbox_registries: tuple[str, ...] = Field(
        default=("registry.npmjs.org", "pypi.org", "files.pythonhosted.org"),
        description="hosts the registry network policy may reach through the proxy",
    )
    sandbox_client_queue_mb: int = Field(
        default=8,
        ge=2,
        le=1024,
        description="replies queued for one client before it is disconnected as not reading",
    )
    sandbox_client_stall_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="how long a client may take nothing while replies wait, then disconnected",
    )
    sandbox_ceilings: TenantCeilings = Field(
        default_factory=TenantCeilings,
        description='the most an exec may ask for, as JSON: {"default": {"memory_mb": 2048, ...},'
        ' "tenants": {"acme": {"memory_mb": 4096}}} (ceilings.py has the defaults)',
    )

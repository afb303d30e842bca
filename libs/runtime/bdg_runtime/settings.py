"""Typed settings from environment variables (pydantic-settings); README lists them all."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from bdg_jobs.sources import SourceRules, load_rules


def default_sandbox_endpoint() -> str:
    # /var/run is root's; anyone else gets a socket in their own runtime dir.
    if os.geteuid() == 0:
        return "unix:///var/run/bigdaddyg-sandbox.sock"
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/bigdaddyg-{os.getuid()}"
    return f"unix://{runtime}/bigdaddyg-sandbox.sock"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    database_url: str | None = Field(
        default=None, description="PostgreSQL URL; unset = embedded PostgreSQL under BDG_HOME"
    )
    nats_url: str | None = Field(
        default=None, description="NATS URL; unset = embedded nats-server under BDG_HOME"
    )
    bdg_home: Path = Field(default=Path(".bdg"), description="state dir of the embedded stack")
    agent_sandbox_endpoint: str = Field(default_factory=default_sandbox_endpoint)
    bdg_namespace: str = Field(
        default="", description="own streams and subjects on a shared NATS (tests, staging)"
    )
    bdg_service_name: str = Field(default="", description="set by each service's main")
    bdg_max_deliver: int = Field(default=5, ge=1, description="deliveries before dead-letter")
    bdg_backoff_seconds: tuple[float, ...] = Field(
        default=(0.5, 1.0, 2.0, 4.0), description="delay before each redelivery"
    )
    bdg_step_timeout_seconds: float = Field(default=300.0, gt=0)
    bdg_ack_wait_seconds: float = Field(
        default=10.0, gt=0, description="redelivery after a consumer died; handlers heartbeat"
    )
    bdg_reconcile_after_seconds: float = Field(
        default=60.0, gt=0, description="re-drive a job whose last event got no reaction"
    )
    bdg_duplicate_window_seconds: float = Field(default=600.0, gt=0)
    bdg_log_format: str = Field(default="json", pattern="^(json|text)$")
    bdg_log_level: str = Field(default="INFO")
    bdg_event_loop: str = Field(
        default="auto",
        pattern="^(auto|uvloop|asyncio)$",
        description="auto: uvloop when installed, else asyncio's own loop",
    )
    bdg_nice: int | None = Field(
        default=None,
        ge=0,
        le=19,
        description="CPU niceness of this service (and of its session when it leads one); "
        "unset: 0 for the gateway, 10 for background workers, so the API answers first on a "
        "busy machine",
    )
    bdg_tenant_policies: Path | None = Field(
        default=None, description="JSON file of per-tenant choices (plan approval, critic bar)"
    )
    bdg_source_grants: Path | None = Field(
        default=None,
        description="JSON file of tenant -> roots its jobs may name local repositories under; "
        "unset: BDG_HOME/source-grants.json (written by `bdg up`), if there",
    )
    bdg_clone_allow_hosts: str = Field(
        default="",
        description="internal hosts clone URLs may reach (names, IPs, networks, by commas), "
        "e.g. a LAN git server; every other internal address is refused",
    )
    bdg_index_dir: Path | None = Field(
        default=None,
        description="the indexer's clones (state: never a source); unset: BDG_HOME/index",
    )
    # The tester writes there (its own settings read the same variable); the gateway serves it.
    bdg_test_artifacts_dir: Path = Field(
        default=Path(".bdg/artifacts/tests"), description="the browser checks' screenshots"
    )
    sandbox_state_dir: Path | None = Field(
        default=None, description="sandboxd's state (never a source); read here to refuse it"
    )
    bdg_metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="serve Prometheus metrics at /metrics on this port (0: any free port, "
        "logged); unset: not served",
    )
    bdg_metrics_host: str = Field(default="127.0.0.1", description="address of /metrics")
    bdg_edge_host: str = Field(
        default="127.0.0.1", description="the edge's listening address (0.0.0.0 in a container)"
    )
    bdg_edge_port: int = Field(default=8790, ge=1, le=65535, description="the edge's port")
    bdg_edge_url: str = Field(
        default="", description="where the deployer reaches the edge; unset: 127.0.0.1 and its port"
    )
    bdg_beacon_url: str = Field(
        default="",
        description="where a cloud canary's pages post their beacon (the edge's /_bdg/collect as"
        " browsers reach it); unset: BDG_EDGE_URL + /_bdg/collect",
    )
    bdg_preview_min_score: int | None = Field(
        default=None,
        ge=0,
        le=100,
        description="the deployer measures a site job's preview release with Lighthouse before "
        "offering the deploy for approval; a category below this ends the job; unset: no gate",
    )
    bdg_public_url: str = Field(
        default="",
        description="the gateway's address as people reach it, for the links in issue "
        "comments (the screenshot, the job's page); unset: http://GATEWAY_HOST:GATEWAY_PORT",
    )
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    bdg_gateway_workers: int = Field(
        default=2,
        ge=1,
        le=16,
        description="gateway processes `bdg up` runs on its one listening socket (at most one "
        "per core: more only share them)",
    )
    jwt_algorithm: str = Field(default="HS256", pattern="^(HS256|RS256|EdDSA)$")
    jwt_secret: str | None = Field(default=None, description="HS256 shared secret")
    jwt_public_key: str | None = Field(default=None, description="PEM, for RS256/EdDSA")
    jwt_audience: str = "bigdaddyg"
    jwt_issuer: str | None = None


def source_rules(settings: Settings) -> SourceRules:
    """Who may name which local repository, for this installation (bdg_jobs.sources)."""
    home = settings.bdg_home
    index = settings.bdg_index_dir or home / "index"
    more_state = (index, settings.sandbox_state_dir)
    return load_rules(home, settings.bdg_source_grants, more_state, settings.bdg_clone_allow_hosts)

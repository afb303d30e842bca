"""Server-side ceilings on what an exec may ask for, per tenant (pure: no I/O).

The protocol's ``Limits`` bounds are absolute sanity bounds (64 GiB, 24 h); the ceilings are the
operator's: a default for every tenant and per-tenant overrides. A request above a ceiling is
refused, naming the limit, the value asked and the ceiling: never clamped, so a caller learns at
once why its run did not start instead of seeing it die later of a limit it did not ask for.

The defaults fit a small shared host (2 cores, a few GiB free, ``SANDBOX_MAX_CONCURRENT`` 4):
four execs at the memory ceiling take 8 GiB; a ``/tmp`` (tmpfs, charged to the run's memory)
of half the memory; 1,024 pids for test runners' worker threads; 30 minutes, the longest a
coder tool call may ask (``bdg_tools.catalog``); 16 MiB of output, twice the protocol default.
What the tester asks by default (2 GiB, 2 cpus, 1,024 pids, 512 MiB /tmp, 600 s) and the coder's
tool calls (timeouts up to 1,800 s) fit within them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bdg_contracts.sandbox import Limits

PROTOCOL_DEFAULTS = Limits()  # what a client sends when it asks for nothing in particular


class Ceilings(BaseModel):
    """The most an exec may ask for; each field bounded like ``Limits``' own."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    memory_mb: int = Field(default=2048, ge=16, le=65536)
    pids: int = Field(default=1024, ge=8, le=32768)
    cpus: float = Field(default=4.0, gt=0, le=64)
    timeout_s: float = Field(default=1800.0, gt=0, le=86400)
    tmp_mb: int = Field(default=512, ge=1, le=65536)
    output_bytes: int = Field(default=16 << 20, ge=1024, le=1 << 30)

    @model_validator(mode="after")
    def _room_for_the_defaults(self) -> Ceilings:
        # A request that names no limits carries the protocol's defaults: a ceiling below them
        # would refuse every such exec, so it is a configuration error, said at start.
        for name, ceiling, default in _pairs(self, PROTOCOL_DEFAULTS):
            if ceiling < default:
                raise ValueError(
                    f"{name}: ceiling {ceiling} is below the protocol default {default}"
                )
        return self


class TenantCeilings(BaseModel):
    """The default ceilings and, per tenant, the fields it overrides."""

    model_config = ConfigDict(frozen=True)

    default: Ceilings = Field(default_factory=Ceilings)
    tenants: dict[str, dict[str, float]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _overrides_are_ceilings(self) -> TenantCeilings:
        for tenant in self.tenants:
            self.of(tenant)  # raises (ValidationError) on an unknown or out-of-range field
        return self

    def of(self, tenant: str) -> Ceilings:
        override = self.tenants.get(tenant)
        if not override:
            return self.default
        return Ceilings.model_validate({**self.default.model_dump(), **override})


def over_ceilings(limits: Limits, ceilings: Ceilings) -> list[str]:
    """Each limit asked above its ceiling, as ``limits.<name>: asked X, ceiling Y``."""
    return [
        f"limits.{name}: asked {asked}, ceiling {ceiling}"
        for name, ceiling, asked in _pairs(ceilings, limits)
        if asked > ceiling
    ]


def _pairs(ceilings: Ceilings, limits: Limits) -> list[tuple[str, float, float]]:
    return [(name, getattr(ceilings, name), getattr(limits, name)) for name in Limits.model_fields]

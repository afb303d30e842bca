"""What each tenant chose: plan approval (auto or gated), the critic's bar, the consents its
processing needs and how long it keeps ended jobs.

Loaded from a JSON file (``BDG_TENANT_POLICIES``)::

    {"default": {"plan_approval": "gated"},
     "tenants": {"acme": {"plan_approval": "auto", "plan_score_threshold": 7}}}
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bdg_contracts.privacy_events import ConsentPurpose


class TenantPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    plan_approval: Literal["auto", "gated"] = "gated"
    plan_score_threshold: int = Field(default=8, ge=1, le=10)
    plan_max_iterations: int = Field(default=3, ge=1, le=20)
    # Purposes a person must have consented to before their jobs run (bdg_jobs.personal.consents).
    consent_required: tuple[ConsentPurpose, ...] = ()
    # Jobs that ended longer ago are purged by the auditor (bdg_jobs.personal.retention).
    retention_days: int | None = Field(default=None, ge=1, le=36_500)
    # The tester's fail-to-pass check for this tenant; None: BDG_TEST_REQUIRE_FAILING_FIRST.
    require_failing_first: Literal["on", "off"] | None = None


class TenantPolicies(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    default: TenantPolicy = TenantPolicy()
    tenants: dict[str, TenantPolicy] = {}

    def for_tenant(self, tenant_id: str) -> TenantPolicy:
        return self.tenants.get(tenant_id, self.default)


class TenantPolicyError(ValueError):
    """The policies file cannot be read or is invalid: the message says where."""


def load_policies(path: Path | None, default: TenantPolicy | None = None) -> TenantPolicies:
    """The policies in ``path``; none configured: everyone gets ``default``."""
    if path is None:
        return TenantPolicies(default=default or TenantPolicy())
    try:
        return TenantPolicies.model_validate_json(path.read_bytes())
    except OSError as error:
        raise TenantPolicyError(f"cannot read tenant policies {path}: {error}") from error
    except ValidationError as error:
        raise TenantPolicyError(f"invalid tenant policies {path}: {error}") from error

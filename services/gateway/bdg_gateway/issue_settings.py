"""Which tenants' issues start jobs, with which label, and the token to comment with.

Read from a JSON file named by ``BDG_ISSUE_TRIGGERS`` (operator configuration, like the tenant
policies), one entry per tenant::

    {"acme": {"label": "bdg",
              "github": {"token": "ghp_...", "api_url": "https://api.github.com"},
              "gitea": {"token": "...", "api_url": "https://git.acme.internal/api/v1"}}}

The comments API URL comes from here and never from a payload: a signed payload still must not
choose where the tenant's token is sent. Tokens are ``SecretStr`` (masked in any repr or log) and
are never put in an event.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, ValidationError

from bdg_contracts.text import Text
from bdg_gateway.webhook_payloads import ProviderName

GITHUB_API = "https://api.github.com"


class IssueTriggerError(ValueError):
    """The trigger file cannot be used (the gateway refuses to start)."""


class HostAccess(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    token: SecretStr = Field(min_length=1)
    api_url: HttpUrl | None = None  # GitHub: api.github.com when unset; Gitea: required


class TenantIssues(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    label: Annotated[str, Text(50, min_len=1)] = "bdg"
    github: HostAccess | None = None
    gitea: HostAccess | None = None

    def host(self, provider: ProviderName) -> HostAccess | None:
        return self.github if provider == "github" else self.gitea if provider == "gitea" else None

    def api_url(self, provider: ProviderName) -> str | None:
        host = self.host(provider)
        if host is None:
            return None
        if host.api_url is None:
            return GITHUB_API if provider == "github" else None
        return str(host.api_url).rstrip("/")


class IssueTriggers(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenants: dict[str, TenantIssues] = Field(default_factory=dict)

    def for_tenant(self, tenant: str) -> TenantIssues | None:
        return self.tenants.get(tenant)


def load_triggers(path: str) -> IssueTriggers:
    """No file configured: no tenant's issues start jobs."""
    if not path:
        return IssueTriggers()
    try:
        raw = json.loads(Path(path).read_text())
        triggers = IssueTriggers(tenants=raw)
    except (OSError, ValueError) as error:
        raise IssueTriggerError(f"BDG_ISSUE_TRIGGERS {path}: {_why(error)}") from None
    for tenant, issues in triggers.tenants.items():
        if issues.gitea is not None and issues.gitea.api_url is None:
            raise IssueTriggerError(f"BDG_ISSUE_TRIGGERS {path}: {tenant}.gitea needs an api_url")
    return triggers


def _why(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{where}: {first['msg']}"
    return str(error)

"""Who may run which tool: ``auto`` (run), ``gate`` (a person approves first), ``forbid``.

Each tool declares a default; a policy file overrides it for the installation, a tenant or one
user of a tenant. The most specific level that names the tool (or ``"*"``, every tool) wins::

    # BDG_TOOL_POLICY=/etc/bigdaddyg/tools.yaml (JSON when the name does not end in .yaml/.yml)
    tools: {run_command: gate}            # the installation
    tenants:
      acme:
        tools: {"*": gate, file_read: auto}
        users:
          alice: {tools: {run_command: auto}}
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bdg_contracts.tool_events import ToolApproval

POLICY_VARIABLE = "BDG_TOOL_POLICY"
EVERY_TOOL = "*"


class PolicyError(ValueError):
    """The policy file cannot be read or does not fit the format."""


class Rules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tools: dict[str, ToolApproval] = Field(default_factory=dict)

    def lookup(self, tool: str) -> ToolApproval | None:
        return self.tools.get(tool) or self.tools.get(EVERY_TOOL)


class TenantRules(Rules):
    users: dict[str, Rules] = Field(default_factory=dict)


class ToolPolicy(Rules):
    tenants: dict[str, TenantRules] = Field(default_factory=dict)

    def approval(
        self, tool: str, default: ToolApproval, tenant_id: str, user_id: str | None = None
    ) -> ToolApproval:
        tenant = self.tenants.get(tenant_id)
        user = tenant.users.get(user_id) if tenant is not None and user_id else None
        for rules in (user, tenant, self):
            found = rules.lookup(tool) if rules is not None else None
            if found is not None:
                return found
        return default

    @classmethod
    def load(cls, path: Path) -> ToolPolicy:
        try:
            text = path.read_text(encoding="utf-8")
            data: Any = (
                yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
            )
            return cls.model_validate(data or {})
        except (OSError, ValueError, yaml.YAMLError) as error:
            detail = error if not isinstance(error, ValidationError) else error.errors()
            raise PolicyError(f"tool policy {path}: {detail}") from error

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ToolPolicy:
        """The file named by ``BDG_TOOL_POLICY``; every tool's own default when unset."""
        path = (os.environ if env is None else env).get(POLICY_VARIABLE, "").strip()
        return cls.load(Path(path)) if path else cls()

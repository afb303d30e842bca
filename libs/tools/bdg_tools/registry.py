"""The tools a service can offer: built-in, discovered from other services, or from MCP servers.

A tool is offered when its ``requires`` condition holds for the environment the registry was
built with (deploy only with a deploy provider), and to a tenant's user unless the policy forbids
it for them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from bdg_tools.policy import ToolPolicy
from bdg_tools.spec import Environment, ToolEntry


class DuplicateToolError(ValueError):
    """Two tools of one registry have the same name."""


class ToolRegistry:
    def __init__(
        self,
        entries: Iterable[ToolEntry] = (),
        env: Environment | None = None,
        policy: ToolPolicy | None = None,
    ) -> None:
        self.env: Mapping[str, str] = dict(os.environ if env is None else env)
        self.policy = policy or ToolPolicy()
        self._entries: dict[str, ToolEntry] = {}
        for entry in entries:
            self.register(entry)

    def register(self, entry: ToolEntry, replace: bool = False) -> None:
        if entry.name in self._entries and not replace:
            raise DuplicateToolError(
                f"tool {entry.name!r} is already registered "
                f"(from {self._entries[entry.name].source})"
            )
        self._entries[entry.name] = entry

    def register_all(self, entries: Iterable[ToolEntry], replace: bool = False) -> None:
        for entry in entries:
            self.register(entry, replace)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def available(self) -> list[ToolEntry]:
        """The tools whose condition holds here, in registration order."""
        return [e for e in self._entries.values() if e.requires(self.env)]

    def get(self, name: str) -> ToolEntry | None:
        entry = self._entries.get(name)
        return entry if entry is not None and entry.requires(self.env) else None

    def names(self) -> list[str]:
        return [e.name for e in self.available()]

    def offered(self, tenant_id: str, user_id: str | None = None) -> list[ToolEntry]:
        """What this user's model is offered: the available tools, less the forbidden ones."""
        return [e for e in self.available() if self.approval(e, tenant_id, user_id) != "forbid"]

    def approval(self, entry: ToolEntry, tenant_id: str, user_id: str | None) -> str:
        return self.policy.approval(entry.name, entry.approval, tenant_id, user_id)

    def openai_tools(self, tenant_id: str, user_id: str | None = None) -> list[dict[str, Any]]:
        """The ``tools`` parameter of a chat completion for this user."""
        return [e.openai() for e in self.offered(tenant_id, user_id)]

    def prompt_section(self, tenant_id: str, user_id: str | None = None) -> str:
        """The system prompt's description of the tools this user's model may call."""
        lines = [
            "## Tools",
            "Call a tool with arguments that match its JSON schema exactly. A call with wrong "
            "arguments returns an error that says what to fix: read it and call again. Paths "
            "are relative to the workspace root.",
            "",
        ]
        for entry in self.offered(tenant_id, user_id):
            gated = self.approval(entry, tenant_id, user_id) == "gate"
            note = " (a person approves each call first; the job waits)" if gated else ""
            lines.append(f"- `{entry.name}`: {entry.declaration.description}{note}")
        if len(lines) == 3:
            lines.append("- no tools are available")
        return "\n".join(lines) + "\n"

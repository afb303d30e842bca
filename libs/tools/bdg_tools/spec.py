"""What a tool is to the registry: a declaration, a way to validate its arguments, an executor.

Built-in tools are declared as pydantic models (``Tool``: arguments and result models, a
description, an approval default and a ``requires`` condition); tools of MCP servers and of other
services come with a JSON schema instead. Both become a ``ToolEntry``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

from pydantic import BaseModel, ValidationError

from bdg_contracts.base import Event
from bdg_contracts.tool_events import ToolApproval, ToolDeclaration
from bdg_llm.schema import describe_errors, strict_schema

A = TypeVar("A", bound=BaseModel)
R = TypeVar("R", bound=BaseModel)

Environment = Mapping[str, str]
Requirement = Callable[[Environment], bool]


def always(env: Environment) -> bool:
    return True


class ArgumentsError(ValueError):
    """Arguments that do not fit the tool; the message is written for the model to act on."""


class ToolFailure(Exception):
    """The tool ran and failed for a reason that retrying cannot fix (a missing file, a patch
    that does not apply); the message becomes the call's recorded result."""


@dataclass(frozen=True)
class ToolContext:
    """Whose call it is: the job, its tenant, the service calling, and the sandbox workspace.

    ``scope`` separates deliberate repeats of one call (say, the model's turn number): the same
    call in the same scope is the same call (a redelivery), and gets the recorded result.
    """

    job_id: UUID
    tenant_id: str
    producer: str
    user_id: str | None = None
    workspace: str = ""
    scope: str = ""
    traceparent: str | None = None

    @classmethod
    def for_event(
        cls, event: Event, producer: str, scope: str = "", workspace: str = ""
    ) -> ToolContext:
        """The context of calls made while ``producer`` handles ``event`` (a step's trigger)."""
        return cls(
            job_id=event.job_id,
            tenant_id=event.tenant_id,
            producer=producer,
            user_id=event.user_id,
            workspace=workspace,
            scope=scope,
            traceparent=event.traceparent,
        )

    @property
    def workspace_id(self) -> str:
        return self.workspace or str(self.job_id)


class ToolExecutor(Protocol):
    async def execute(self, arguments: Any, ctx: ToolContext) -> BaseModel | str:
        """Run the tool with validated arguments. Raise ToolFailure for a failure to report,
        TransientToolError (or ConnectionError, TimeoutError) for one worth retrying."""
        ...


@dataclass(frozen=True)
class ToolEntry:
    """A tool the registry can offer and run, whatever declared it."""

    declaration: ToolDeclaration
    parse: Callable[[Any], Any]  # JSON value -> validated arguments, or ArgumentsError
    canonical: Callable[[Any], Any]  # validated arguments -> JSON value (what is hashed)
    executor: ToolExecutor
    requires: Requirement = always
    source: str = "builtin"

    @property
    def name(self) -> str:
        return self.declaration.name

    @property
    def approval(self) -> ToolApproval:
        return self.declaration.approval

    def openai(self) -> dict[str, Any]:
        """The OpenAI function-calling form of this tool."""
        d = self.declaration
        function = {
            "name": d.name,
            "description": d.description,
            "parameters": d.parameters,
            "strict": d.strict,
        }
        return {"type": "function", "function": function}


@dataclass(frozen=True)
class Tool(Generic[A, R]):
    """A built-in tool declared by its pydantic models."""

    name: str
    description: str
    arguments: type[A]
    result: type[R]
    approval: ToolApproval = "auto"
    requires: Requirement = field(default=always)

    def declaration(self) -> ToolDeclaration:
        return ToolDeclaration(
            name=self.name,
            description=self.description,
            parameters=strict_schema(self.arguments),
            strict=True,
            approval=self.approval,
        )

    def parse(self, data: Any) -> A:
        try:
            return self.arguments.model_validate(data)
        except ValidationError as error:
            raise ArgumentsError(describe_errors(error)) from None

    def bind(self, executor: ToolExecutor) -> ToolEntry:
        return ToolEntry(
            declaration=self.declaration(),
            parse=self.parse,
            canonical=lambda arguments: arguments.model_dump(mode="json"),
            executor=_Checked(self, executor),
            requires=self.requires,
        )


@dataclass(frozen=True)
class _Checked:
    """An executor of a typed tool must answer with the tool's result model."""

    tool: Tool[Any, Any]
    executor: ToolExecutor

    async def execute(self, arguments: Any, ctx: ToolContext) -> BaseModel | str:
        result: BaseModel | str = await self.executor.execute(arguments, ctx)
        expected: type[BaseModel] = self.tool.result
        if not isinstance(result, expected):
            raise TypeError(
                f"{self.tool.name} answered {type(result).__name__}, "
                f"not {self.tool.result.__name__}"
            )
        return result


def as_text(result: BaseModel | str) -> str:
    return result if isinstance(result, str) else result.model_dump_json()


def error_text(message: str) -> str:
    return json.dumps({"error": message}, ensure_ascii=False)

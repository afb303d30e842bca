"""What the ``/agent/sandbox`` routes take and answer, over REST and the exec WebSocket.

A request becomes one sandboxd frame, checked here to fit the protocol's 1 MiB before it is sent
(``fits``): a frame too large is a 413 naming its size, not a connection sandboxd drops.
"""

from __future__ import annotations

import re
import uuid
from typing import Literal

from fastapi import HTTPException
from pydantic import BaseModel, Field, field_validator

from bdg_contracts import sandbox as sb
from bdg_sandbox.codec import HEADER, encode

# Declared in the schema (what is refused) and checked by the validator (with a message).
REMOTE_REPO = re.compile(r"^(?:(?:https?|ssh|git)://[^\s]+|[\w.-]+@[\w.-]+:[^\s]+)?$")


def fits(frame: sb.Request) -> None:
    size = len(encode(frame)) - HEADER.size
    if size > sb.MAX_FRAME_BYTES:
        raise HTTPException(
            413, f"the request is {size} bytes, over sandboxd's {sb.MAX_FRAME_BYTES}"
        )


class SandboxInfo(BaseModel):
    backend: str
    protections: dict[str, bool]
    max_concurrent: int


class CreateWorkspaceBody(BaseModel):
    repo: str = Field(
        default="",
        max_length=4096,
        description="git URL; empty: empty workspace",
        json_schema_extra={"pattern": REMOTE_REPO.pattern},
    )
    commit: str = Field(default="HEAD", max_length=200, pattern=r"^[^-\s][^\s]*$")
    patches: list[str] = Field(default_factory=list, description="unified diffs, in order")

    @field_validator("repo")
    @classmethod
    def _remote(cls, repo: str) -> str:
        # A path or file:// URL would copy the sandbox host's files into the workspace.
        if not REMOTE_REPO.fullmatch(repo):
            raise ValueError("must be a git URL (https, ssh, git, or user@host:path) or empty")
        return repo

    def fit(self, tenant: str, workspace: str) -> None:
        """413 unless the CreateWorkspace frame it becomes fits (its id at the longest)."""
        source = sb.Source(repo=self.repo, commit=self.commit)
        fits(
            sb.CreateWorkspace(
                id="x" * 64, tenant=tenant, workspace=workspace, source=source, patches=self.patches
            )
        )


class WorkspaceCreated(BaseModel):
    commit: str | None


class ExecBody(BaseModel):
    argv: list[sb.Arg] = Field(min_length=1, max_length=4096)
    cwd: sb.AbsolutePath = "/workspace"
    env: dict[sb.EnvName, sb.Arg] = Field(default_factory=dict)
    limits: sb.Limits = Field(default_factory=sb.Limits)
    network: Literal["none", "registry"] = "none"
    stdin: str = ""

    def frame(self, tenant: str, workspace: str) -> sb.Exec:
        fields = self.model_dump(exclude={"stdin", "limits"})
        frame = sb.Exec(
            id=f"gw-{uuid.uuid4().hex}",
            tenant=tenant,
            workspace=workspace,
            limits=self.limits,
            stdin=self.stdin.encode(),
            **fields,
        )
        fits(frame)
        return frame


class Exit(BaseModel):
    code: int | None
    signal: int | None
    duration_s: float
    oom: bool
    timed_out: bool
    cancelled: bool
    output_truncated: bool

    @classmethod
    def of(cls, exited: sb.Exited, truncated: bool = False) -> Exit:
        fields = exited.model_dump(include=set(Exit.model_fields))
        return cls(**{**fields, "output_truncated": exited.output_truncated or truncated})


class ExecOutcome(Exit):
    stdout: str
    stderr: str


class OutputMessage(BaseModel):
    type: Literal["stdout", "stderr"]
    data: str


class ExitMessage(Exit):
    type: Literal["exit"] = "exit"


class ErrorMessage(BaseModel):
    type: Literal["error"] = "error"
    status: int
    detail: str

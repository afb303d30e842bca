"""Access policy, conditional tools, what the model is offered, and the system prompt section."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from bdg_contracts.states import JobState
from bdg_jobs.errors import IllegalTransitionError
from bdg_tools import catalog as c
from bdg_tools.policy import PolicyError, ToolPolicy
from bdg_tools.registry import DuplicateToolError, ToolRegistry
from bdg_tools.spec import ToolContext, ToolEntry
from tests.unit.jobs import CAUSE, job_in

pytestmark = pytest.mark.timeout(10)


class Nothing:
    async def execute(self, arguments: Any, ctx: ToolContext) -> BaseModel | str:
        raise AssertionError("not called here")


def builtin(env: dict[str, str] | None = None, policy: ToolPolicy | None = None) -> ToolRegistry:
    return ToolRegistry([t.bind(Nothing()) for t in c.BUILTIN], env=env or {}, policy=policy)


POLICY = ToolPolicy.model_validate(
    {
        "tools": {"run_command": "forbid"},
        "tenants": {
            "acme": {
                "tools": {"*": "gate", "file_read": "auto"},
                "users": {"alice": {"tools": {"run_command": "auto"}}},
            }
        },
    }
)


@pytest.mark.parametrize(
    ("tool", "tenant", "user", "expected"),
    [
        ("file_read", "other", None, "auto"),  # the tool's own default
        ("deploy", "other", None, "gate"),
        ("run_command", "other", "alice", "forbid"),  # the installation
        ("file_write", "acme", "bob", "gate"),  # the tenant's "*"
        ("file_read", "acme", "bob", "auto"),  # the tenant's exact rule beats its "*"
        ("run_command", "acme", "bob", "gate"),  # the tenant beats the installation
        ("run_command", "acme", "alice", "auto"),  # the user beats the tenant
        ("run_command", "acme", None, "gate"),
    ],
)
def test_the_most_specific_level_wins(
    tool: str, tenant: str, user: str | None, expected: str
) -> None:
    default = next(t.approval for t in c.BUILTIN if t.name == tool)
    assert POLICY.approval(tool, default, tenant, user) == expected


def test_policy_files_in_json_and_yaml(tmp_path: Path) -> None:
    as_json = tmp_path / "tools.json"
    as_json.write_text(json.dumps(POLICY.model_dump()))
    as_yaml = tmp_path / "tools.yaml"
    as_yaml.write_text(
        "tools: {run_command: forbid}\n"
        "tenants:\n"
        "  acme:\n"
        "    tools: {'*': gate, file_read: auto}\n"
        "    users:\n"
        "      alice: {tools: {run_command: auto}}\n"
    )
    assert ToolPolicy.load(as_json) == POLICY
    assert ToolPolicy.from_env({"BDG_TOOL_POLICY": str(as_yaml)}) == POLICY
    assert ToolPolicy.from_env({}) == ToolPolicy()


def test_a_bad_policy_file_says_where_and_what(tmp_path: Path) -> None:
    bad = tmp_path / "tools.yaml"
    bad.write_text("tools: {file_read: sometimes}\n")
    with pytest.raises(PolicyError, match=r"tools\.yaml.*file_read"):
        ToolPolicy.load(bad)
    with pytest.raises(PolicyError, match=r"missing\.json"):
        ToolPolicy.load(tmp_path / "missing.json")


def test_deploy_is_offered_only_with_a_deploy_provider() -> None:
    assert "deploy" not in builtin().names()
    assert builtin().get("deploy") is None
    with_provider = builtin({c.DEPLOY_PROVIDER_VARIABLE: "fly"})
    assert "deploy" in with_provider.names()
    assert len(with_provider.names()) == len(c.BUILTIN)


def test_forbidden_tools_are_not_offered_and_gated_ones_are_marked() -> None:
    registry = builtin(policy=POLICY)
    assert "run_command" not in [e.name for e in registry.offered("other")]
    assert "run_command" in [e.name for e in registry.offered("acme", "alice")]
    functions = [t["function"]["name"] for t in registry.openai_tools("other")]
    assert "run_command" not in functions
    section = registry.prompt_section("acme", "bob")
    assert section.startswith("## Tools\n")
    assert "- `file_read`: Read a text file" in section
    assert "- `file_write`: Create or overwrite" in section
    assert "(a person approves each call first; the job waits)" in section
    assert "file_read`: Read a text file of the workspace, whole or a range of lines.\n" in section


def test_no_tools_is_said_in_the_prompt() -> None:
    assert "- no tools are available" in ToolRegistry(env={}).prompt_section("t")


def test_two_tools_of_one_name_are_refused() -> None:
    registry = builtin()
    with pytest.raises(DuplicateToolError, match="file_read"):
        registry.register(c.FILE_READ.bind(Nothing()))
    registry.register(c.FILE_READ.bind(Nothing()), replace=True)


def test_entries_are_openai_tools() -> None:
    entry: ToolEntry = c.FILE_READ.bind(Nothing())
    assert entry.openai()["function"]["parameters"] == c.FILE_READ.declaration().parameters


# -- the job aggregate's side of gating -----------------------------------------------------------
def requested(call_id: str = "01J0000000000000000000000A") -> Any:
    job = job_in(JobState.coding)
    job.request_tool_approval(
        CAUSE,
        call_id=call_id,
        tool="run_command",
        arguments_json="{}",
        idempotency_key="k",
        reason="gated",
    )
    return job


def test_a_gated_call_pauses_the_job_and_an_approval_resumes_it() -> None:
    job = requested()
    assert job.state == JobState.paused
    assert job.awaiting_tool_calls == {"01J0000000000000000000000A": "run_command"}
    job.approve_tool_call(CAUSE, "01J0000000000000000000000A", "bob")
    assert job.state == JobState.coding
    assert job.awaiting_tool_calls == {}


def test_a_denial_resumes_the_job_too() -> None:
    job = requested()
    job.deny_tool_call(CAUSE, "01J0000000000000000000000A", "bob", "no")
    assert job.state == JobState.coding


def test_only_an_awaiting_call_can_be_decided() -> None:
    job = requested()
    version = job.version
    with pytest.raises(IllegalTransitionError, match="no tool call X awaits approval"):
        job.approve_tool_call(CAUSE, "X", "bob")
    assert job.version == version
    job.approve_tool_call(CAUSE, "01J0000000000000000000000A", "bob")
    with pytest.raises(IllegalTransitionError):
        job.deny_tool_call(CAUSE, "01J0000000000000000000000A", "bob", "late")


def test_a_resume_without_a_decision_withdraws_the_request() -> None:
    job = requested()
    job.resume(CAUSE)
    assert job.state == JobState.coding
    assert job.awaiting_tool_calls == {}


def test_a_budget_stop_while_waiting_nests() -> None:
    job = requested()
    job.exceed_budget(CAUSE, 1.0, 2.0, "job:t:j", "")
    job.raise_budget(CAUSE, 5.0)
    assert job.state == JobState.paused
    job.approve_tool_call(CAUSE, "01J0000000000000000000000A", "bob")
    assert job.state == JobState.coding

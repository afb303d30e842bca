"""What an attempt is built from: the workspace recipe, what an earlier run parked, the tools the
model is offered, and a client that answers parked calls before the model."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bdg_coder.domain import parked_of, paths_named, recipe_of, workspace_name
from bdg_coder.llm_adapters import CoderLlm, Finish, offered_tools
from bdg_coder.registries import replay_registry
from bdg_contracts import events as ev
from bdg_contracts import tool_events as tev
from bdg_contracts.base import Event
from bdg_jobs.domain import Job
from bdg_llm.api import ChatRequest, ChatResult, Message
from bdg_llm.hashing import request_hash
from bdg_llm.journal import journal
from bdg_llm.llm_called_fields import fields_for_event
from bdg_llm.replay import ReplayLlm, ReplayMissError
from bdg_tester.domain import task_for
from bdg_tools.policy import TenantRules, ToolPolicy
from tests.unit.jobs import CAUSE, new_job

pytestmark = pytest.mark.timeout(10)
PATCH_1 = "--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x\n+y\n"
PATCH_2 = "--- a/b.py\n+++ b/b.py\n@@ -1 +1 @@\n-x\n+y\n"


def coding_job(**fields: object) -> tuple[Job, list[Event]]:
    job = new_job(**fields)
    job.make_plan_ready(CAUSE, "- [ ] step")
    job.approve_plan(CAUSE, "alice")
    return job, list(job.collect())


def test_the_recipe_is_the_request_s_repository_and_every_patch_so_far() -> None:
    job, history = coding_job(repo="/src/app", base_ref="v1.2")
    job.change_files(CAUSE, PATCH_1, ("a.py",))
    job.change_files(CAUSE, PATCH_2, ("b.py",))
    history += job.collect()
    recipe = recipe_of(history)
    assert (recipe.repo, recipe.base_ref, recipe.patches) == (
        "/src/app",
        "v1.2",
        (PATCH_1, PATCH_2),
    )
    plain, no_repo = coding_job()
    assert recipe_of(no_repo).repo == ""
    assert recipe_of(no_repo).base_ref == "HEAD"
    assert workspace_name(plain.job_id, 3) == f"{plain.job_id}-c3"


def test_once_an_attempt_built_on_a_commit_every_later_one_builds_on_it() -> None:
    job, history = coding_job(repo="/src/app", base_ref="main")
    assert recipe_of(history).base_ref == "main"  # nothing built yet: the ref's name
    job.change_files(CAUSE, PATCH_1, ("a.py",))
    job.finish_coding(CAUSE, "first", base_commit="a" * 40)
    history += job.collect()
    # the tester tests what the coder built on, whatever "main" names by now
    assert task_for(history, history[-1], 1).base_ref == "a" * 40
    job.fail_tests(CAUSE, ev.TestResults(total=1, failed=1), "x failed")
    history += job.collect()
    assert recipe_of(history).base_ref == "a" * 40
    job.finish_coding(CAUSE, "second", base_commit="a" * 40)
    history += job.collect()
    assert task_for(history, history[-1], 2).base_ref == "a" * 40


def _result(content: str, request: ChatRequest, model: str = "gpt-4o-mini") -> ChatResult:
    return ChatResult(content, model, request_hash(model, request), 10, 5, 0.001)


ASK = ChatRequest("coder", (Message("user", "fix it"),))
ASK_2 = replace(ASK, messages=(Message("user", "fix it"), Message("user", "again")))


def test_parked_is_what_the_coder_recorded_aside_after_the_trigger() -> None:
    job, history = coding_job(repo="/src/app")
    trigger = history[-1]
    coder = replace(CAUSE, producer="coder")
    # aside (parked): a call and the code context; not: another producer's, the reaction
    job.record_llm_call(replace(coder, causation_id="01CALL"), **fields_for_event(
        _result("a", ASK), "coder"))  # fmt: skip
    job.record_code_context(replace(coder, causation_id="01CTX"), query="q", repo="/src/app")
    job.record_llm_call(replace(CAUSE, producer="planner", causation_id="01X"), **fields_for_event(
        _result("p", ASK), "planner"))  # fmt: skip
    job.record_llm_call(replace(coder, causation_id=trigger.event_id), **fields_for_event(
        _result("r", ASK), "coder"))  # fmt: skip
    history += job.collect()
    parked = parked_of(history, trigger, "coder")
    assert [c.response for c in parked.calls] == ["a"]
    assert parked.context is not None
    assert parked.context.query == "q"
    assert parked_of(history, history[-1], "coder").calls == ()  # nothing after the last


def test_offered_tools_follow_the_policy_and_end_with_finish() -> None:
    policy = ToolPolicy(
        tenants={"acme": TenantRules(tools={"file_write": "forbid", "run_tests": "gate"})}
    )
    registry = replay_registry(policy)("/src/app")
    models, described = offered_tools(registry, "acme", "alice")
    assert list(models) == [
        "file_read", "edit_file", "replace_symbol", "apply_patch", "list_files", "search_code",
        "run_command", "run_tests", "finish",
    ]  # fmt: skip
    assert models["finish"] is Finish
    gated = {t.name for t in described if t.gated}
    assert gated == {"run_command", "run_tests"}
    assert "workspace_diff" in registry.names()  # the coder's own, never offered
    assert described[0].arguments == ("path", "start_line", "end_line")
    others, _ = offered_tools(registry, "other", None)
    assert "file_write" in others


def _events(*results: ChatResult) -> list[ev.LlmCalled]:
    job = new_job()
    job.collect()
    for result in results:
        job.record_llm_call(CAUSE, **fields_for_event(result, "coder"))
    return [e for e in job.collect() if isinstance(e, ev.LlmCalled)]


async def test_parked_answers_come_first_and_are_not_noted_again() -> None:
    parked = _events(_result("from the log", ASK))
    model = ReplayLlm(_events(_result("live", ASK_2)))
    llm = CoderLlm(model, parked)
    with journal() as calls:
        assert (await llm.chat(ASK)).content == "from the log"
        assert (await llm.chat(ASK_2)).content == "live"
    assert [(role, r.content) for role, r in calls] == [("coder", "live")]


async def test_once_the_run_leaves_the_parked_path_the_model_answers() -> None:
    parked = _events(_result("parked 2", ASK_2))
    llm = CoderLlm(ReplayLlm(_events(_result("live", ASK))), parked)
    assert (await llm.chat(ASK)).content == "live"
    with pytest.raises(ReplayMissError):
        await llm.chat(ASK_2)  # parked no more: it goes to the model, which has no answer


async def test_the_code_context_of_the_coder_is_found_query_by_query() -> None:
    from bdg_coder.domain import query_of
    from bdg_tools.code_context import ContextNotRecordedError, NoCodeContext, RecordedCodeContext

    job, history = coding_job(repo="/src/app")
    coder = replace(CAUSE, producer="coder", causation_id="01CTX")
    hit = tev.CodeHit(path="a.py", start_line=1, end_line=2, snippet="x = 1", score=0.5)
    job.record_code_context(coder, query=query_of("goal", "plan"), repo="/src/app", hits=(hit,))
    job.record_code_context(replace(coder, producer="planner"), query="goal", repo="/src/app")
    history += job.collect()
    recorded = RecordedCodeContext(history, producer="coder")
    found = await recorded.retrieve("t", "/src/app", "goal\nplan")
    assert found.hits == (hit,)
    with pytest.raises(ContextNotRecordedError):
        await recorded.retrieve("t", "/src/app", "goal")  # the planner's is not the coder's
    assert (await NoCodeContext().retrieve("t", "r", "q")).note == "no index configured"
    assert len(query_of("g" * 5_000, "p")) == 2_000


@pytest.mark.parametrize(
    ("goal", "plan", "named"),
    [
        ("Fix `src/slug.js` so it folds accents", "- [ ] edit src/slug.js", ["src/slug.js"]),
        (
            "Add mul to calc.py",
            "- [ ] tests/test_calc.py\n- [ ] README.md",
            ["calc.py", "tests/test_calc.py", "README.md"],
        ),
        ("Bump to v1.2.3, e.g. in os.path.join style", "", []),
        ("See https://example.org/docs/a.js and /etc/app.toml", "", []),
        ("a.py b.py c.py d.py", "", ["a.py", "b.py", "c.py"]),
    ],
)
def test_the_files_the_goal_and_plan_name(goal: str, plan: str, named: list[str]) -> None:
    assert paths_named(goal, plan) == named

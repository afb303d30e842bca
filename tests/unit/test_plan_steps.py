"""Plan drafts as a few short steps (BDG_PLAN_FORMAT=steps, the offline model's): bounded by
their schema so they always end under their cap, made into the checklist every later step
reads; answers that missed the schema (unparseable, cut, prose, out of bounds) keep what they
finished. The answers below are the 0.5B model's, recorded on dev tasks of the agent bench."""

from __future__ import annotations

import json

import pytest

from bdg_planner import prompts
from bdg_planner.domain import DraftTask
from bdg_planner.llm_adapters import LlmPlanner
from bdg_planner.plan_steps import (
    CHANGE_CHARS,
    DRAFT_TOKENS,
    FILE_CHARS,
    MAX_STEPS,
    PlanAnswer,
    Step,
    plan_format_of,
    salvaged_steps,
    steps_checklist,
)
from tests.unit.test_plan_bar import OneAnswer

pytestmark = pytest.mark.timeout(10)
GOAL = "LRU(capacity) in lru.py never evicts: put must drop the least recently used entry."
# Recorded: Qwen2.5-Coder-0.5B (q4_k_m) on llama.cpp, schema-constrained, 62 tokens.
LRU = (
    '{"steps": [{"file": "lru.py", "change": "Add a capacity parameter to the LRU class."}, '
    '{"file": "lru.py", "change": "Add a put method to the LRU class that evicts the least '
    'recently used entry when the cache" }]}'
)
# Recorded on a refactor task: the same step for two files, then a test step.
REFACTOR = (
    '{"steps": [{"file": "posts.py", "change": "Move slugify(text) into a new module text.py"}, '
    '{"file": "tags.py", "change": "Move slugify(text) into a new module text.py"}, '
    '{"file": "tests/test_links.py", "change": "Move post_url and tag_url calls to it in '
    'text.py"}]}'
)


async def draft(content: str, tokens: int = 62) -> tuple[str, OneAnswer]:
    client = OneAnswer(content, completion_tokens=tokens)
    planner = LlmPlanner(client, plan_format="steps")
    task = DraftTask(GOAL, 1, None, None, "lru.py:\nclass LRU: ...")
    return await planner.draft(task), client


async def test_a_recorded_answer_becomes_the_checklist() -> None:
    plan, client = await draft(LRU)
    assert plan == (
        "- [ ] `lru.py`: Add a capacity parameter to the LRU class.\n"
        "- [ ] `lru.py`: Add a put method to the LRU class that evicts the least recently used "
        "entry when the cache\n"
    )
    [asked] = client.asked
    assert asked.max_tokens == DRAFT_TOKENS
    assert asked.messages[0].content == prompts.PLANNER_STEPS
    assert "lru.py:\nclass LRU" in asked.messages[1].content  # the code the indexer found


async def test_the_schema_bounds_the_answer_under_its_cap() -> None:
    _, client = await draft(LRU)
    schema = client.asked[0].schema
    assert schema is not None
    steps = schema["properties"]["steps"]
    assert steps["maxItems"] == MAX_STEPS
    assert steps["items"]["properties"]["file"]["maxLength"] == FILE_CHARS
    assert steps["items"]["properties"]["change"]["maxLength"] == CHANGE_CHARS
    # The longest answer the schema allows, in characters; a token is at least one.
    longest = {"steps": [{"file": "f" * FILE_CHARS, "change": "c" * CHANGE_CHARS}] * MAX_STEPS}
    assert len(json.dumps(longest)) <= DRAFT_TOKENS
    PlanAnswer.model_validate(longest)


def test_a_step_cut_at_the_bound_says_so() -> None:
    cut = Step(file="src/slugify.js", change="Remove hyphens " * 10)
    assert len(cut.change) == CHANGE_CHARS
    assert steps_checklist([cut]).endswith(" Remove hyphens…\n")
    whole = Step(file="src/slugify.js", change="Remove leading and trailing hyphens")
    assert steps_checklist([whole]).endswith(" hyphens\n")


def test_steps_said_twice_are_kept_once_and_blank_ones_dropped() -> None:
    twice = Step(file="lru.py", change="Evict the oldest entry in put")
    blank = Step.model_construct(file=" ", change=" ")
    assert steps_checklist([twice, blank, twice]) == (
        "- [ ] `lru.py`: Evict the oldest entry in put\n"
    )
    assert steps_checklist([]) == ""


async def test_a_refactor_answer_keeps_each_file() -> None:
    plan, _ = await draft(REFACTOR, 77)
    assert plan.splitlines() == [
        "- [ ] `posts.py`: Move slugify(text) into a new module text.py",
        "- [ ] `tags.py`: Move slugify(text) into a new module text.py",
        "- [ ] `tests/test_links.py`: Move post_url and tag_url calls to it in text.py",
    ]


async def test_an_answer_cut_mid_json_keeps_the_steps_it_finished() -> None:
    cut = REFACTOR[: REFACTOR.index("tests/test_links.py") + 5]
    plan, _ = await draft(cut, DRAFT_TOKENS)
    assert plan.splitlines() == [
        "- [ ] `posts.py`: Move slugify(text) into a new module text.py",
        "- [ ] `tags.py`: Move slugify(text) into a new module text.py",
    ]


async def test_an_answer_in_prose_or_unparseable_is_an_empty_plan() -> None:
    assert (await draft("1. Open lru.py\n2. Fix put", 12))[0] == ""
    assert (await draft('{"steps": [{"file": ', 5))[0] == ""
    assert salvaged_steps("not json at all") == []


async def test_an_answer_beyond_the_bounds_keeps_its_steps_not_more_than_four() -> None:
    """An endpoint that does not constrain decoding may write longer or more steps."""
    long = "Rewrite put so it moves the key to the end and pops the first key when full " * 2
    many = {"steps": [{"file": f"m{i}.py", "change": long} for i in range(6)]}
    plan, _ = await draft(json.dumps(many), 400)
    lines = plan.splitlines()
    assert len(lines) == MAX_STEPS
    assert lines[0] == f"- [ ] `m0.py`: {long.strip()}"


def test_an_escaped_quote_in_a_step_is_read() -> None:
    steps = salvaged_steps('{"steps": [{"file": "a.py", "change": "return \\"x\\" when empty"')
    assert [(s.file, s.change) for s in steps] == [("a.py", 'return "x" when empty')]


def test_the_format_is_recorded_and_a_replay_drafts_the_same_way() -> None:
    assert LlmPlanner(OneAnswer(LRU, 62), plan_format="steps").recorded() == {
        "plan_format": "steps"
    }
    assert LlmPlanner(OneAnswer(LRU, 62)).recorded() == {}  # the default: nothing recorded
    assert plan_format_of({"plan_format": "steps", "plan_score_threshold": "9"}) == "steps"
    assert plan_format_of({}) == "checklist"


async def test_the_checklist_draft_is_asked_as_before() -> None:
    """Recorded jobs (the full flow's, the PWA scenario's) replay by the request's hash: the
    default format asks exactly what it asked when they were recorded."""
    client = OneAnswer("- [ ] fix put\n", 6)
    plan = await LlmPlanner(client).draft(DraftTask(GOAL, 1, None, None, ""))
    assert plan == "- [ ] fix put\n"
    [asked] = client.asked
    assert (asked.schema, asked.max_tokens) == (None, 600)
    assert asked.messages[0].content == prompts.PLANNER

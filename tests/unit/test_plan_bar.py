"""A plan below the tenant's bar is re-drafted or sent to a person, never approved unseen; a
critique the model cut or garbled is no verdict."""

from __future__ import annotations

import json

import pytest

from bdg_contracts.base import Event
from bdg_contracts.events import PlanApproval
from bdg_contracts.states import JobState
from bdg_llm.api import ChatRequest, ChatResult, M, OnDelta
from bdg_llm.schema import structured_request, validate_answer
from bdg_planner.adapters import AbstractPlanner, AbstractReviewer
from bdg_planner.application import Planning
from bdg_planner.domain import (
    CriticPolicy,
    Critique,
    CritiqueTask,
    DraftTask,
    Iteration,
    Review,
    ReviewTask,
    best_iteration,
)
from bdg_planner.llm_adapters import (
    CRITIC_TOKENS,
    CRITIQUE_ITEMS,
    SENTENCE_CHARS,
    LlmPlanner,
)
from bdg_planner.recorded import LoggedPlanner
from tests.unit.jobs import CAUSE, new_job

pytestmark = pytest.mark.timeout(10)
CUT = '{"score": 9, "risks": ["the plan never says which file holds the parser and'


class NoReview(AbstractReviewer):
    async def review(self, task: ReviewTask) -> Review:
        raise AssertionError("no review in these tests")


class Scripted(AbstractPlanner):
    """Drafts and critiques in the order given (what a model answered)."""

    def __init__(self, critiques: list[Critique]) -> None:
        self.critiques = critiques

    async def draft(self, task: DraftTask) -> str:
        return f"- [ ] draft {task.iteration}\n"

    async def critique(self, task: CritiqueTask) -> Critique:
        return self.critiques[task.iteration - 1]


class OneAnswer:
    """The model's recorded answer to the critic, as the client returns it."""

    def __init__(self, content: str, completion_tokens: int) -> None:
        self.result = ChatResult(content, "qwen2.5-coder-0.5b", "h", 300, completion_tokens, 0.0)
        self.asked: list[ChatRequest] = []

    async def chat(self, request: ChatRequest, on_delta: OnDelta | None = None) -> ChatResult:
        self.asked.append(request)
        return self.result

    async def structured(self, request: ChatRequest, answer: type[M]) -> tuple[M, ChatResult]:
        result = await self.chat(structured_request(request, answer))
        return validate_answer(result, answer), result


def planning(critiques: list[Critique]) -> Planning:
    return Planning(Scripted(critiques), NoReview(), CriticPolicy(8, 3))


def test_under_auto_approval_a_plan_below_the_bar_waits_for_a_person() -> None:
    job = new_job(plan_approval=PlanApproval.auto)
    job.make_plan_ready(CAUSE, "- [ ] one\n", meets_bar=False)
    assert job.state is JobState.awaiting_plan_approval
    approved = new_job(plan_approval=PlanApproval.auto)
    approved.make_plan_ready(CAUSE, "- [ ] one\n", meets_bar=True)
    assert approved.state is JobState.coding


async def test_a_low_plan_is_redrafted_up_to_the_limit_and_the_best_does_not_meet_the_bar() -> None:
    policy = CriticPolicy(8, 3)
    loop = planning([Critique(1), Critique(5), Critique(6)])
    iterations = await loop.critic_loop("add a --verbose flag", policy)
    assert [it.critique.score for it in iterations] == [1, 5, 6]
    assert policy.meets_bar(best_iteration(iterations).critique) is False


async def test_a_plan_at_the_bar_stops_the_loop_and_meets_it() -> None:
    policy = CriticPolicy(8, 3)
    iterations = await planning([Critique(4), Critique(8)]).critic_loop("g", policy)
    assert len(iterations) == 2
    assert policy.meets_bar(best_iteration(iterations).critique) is True


async def test_a_critique_cut_mid_json_is_a_failure_that_stops_the_loop() -> None:
    client = OneAnswer(CUT, completion_tokens=CRITIC_TOKENS)
    critique = await LlmPlanner(client).critique(CritiqueTask("g", "- [ ] a\n", 1))
    assert critique.failure == (
        f"the critic's answer was cut at its {CRITIC_TOKENS}-token limit before its JSON "
        "ended: no verdict"
    )
    assert client.asked[0].max_tokens == CRITIC_TOKENS
    policy = CriticPolicy(8, 3)
    assert policy.should_stop(1, critique) is True
    assert policy.meets_bar(critique) is False
    iterations = await planning([critique, Critique(9)]).critic_loop("g", policy)
    assert len(iterations) == 1  # no second draft: another one would not make it answer


async def test_an_unreadable_critique_says_why() -> None:
    critique = await LlmPlanner(
        OneAnswer('{"score": 11, "risks": [], "changes": []}', 20)
    ).critique(CritiqueTask("g", "- [ ] a\n", 1))
    assert critique.failure.startswith("the critic's answer was not valid:")
    assert "score" in critique.failure


def test_a_failed_critique_ranks_below_every_verdict() -> None:
    failed = Iteration(2, "failed", Critique(1, failure="cut"))
    assert best_iteration([Iteration(1, "low", Critique(1)), failed]).plan_markdown == "low"


async def test_a_recorded_failed_critique_replays_as_one() -> None:
    job = new_job()
    job.draft_plan(CAUSE, "- [ ] a\n", 1)
    job.critique_plan(CAUSE, 1, 1, failure="cut")
    history = [replace_producer(e) for e in job.collect()]
    replayed = await LoggedPlanner(history).critique(CritiqueTask("g", "- [ ] a\n", 1))
    assert replayed.failure == "cut"


def replace_producer(event: Event) -> Event:
    return event.model_copy(update={"producer": "planner"})


async def test_a_critique_is_at_most_three_risks_and_three_changes() -> None:
    four = json.dumps({"score": 9, "risks": ["a", "b", "c", "d"], "changes": []})
    client = OneAnswer(four, completion_tokens=40)
    critique = await LlmPlanner(client).critique(CritiqueTask("g", "- [ ] a\n", 1))
    assert critique.failure.startswith("the critic's answer was not valid")
    schema = client.asked[0].schema
    assert schema is not None
    assert schema["properties"]["risks"]["maxItems"] == 3  # llama.cpp's grammar holds it to 3
    assert schema["properties"]["changes"]["maxItems"] == 3


async def test_each_sentence_of_a_critique_is_bounded_for_the_decoder_alone() -> None:
    longer = "x" * (SENTENCE_CHARS + 20)  # an endpoint that does not constrain decoding
    client = OneAnswer(json.dumps({"score": 6, "risks": [longer], "changes": []}), 60)
    critique = await LlmPlanner(client).critique(CritiqueTask("g", "- [ ] a\n", 1))
    assert (critique.failure, critique.risks) == ("", (longer,))  # still a verdict
    schema = client.asked[0].schema
    assert schema is not None
    for key in ("risks", "changes"):
        assert schema["properties"][key]["items"] == {"type": "string", "maxLength": SENTENCE_CHARS}
    # The longest answer the schema allows fits the token cap (a token is at least a character)
    full = ["y" * SENTENCE_CHARS] * CRITIQUE_ITEMS
    assert len(json.dumps({"score": 10, "risks": full, "changes": full})) <= CRITIC_TOKENS
    assert client.asked[0].max_tokens == CRITIC_TOKENS

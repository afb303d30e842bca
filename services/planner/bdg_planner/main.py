"""Planner service: plans requested jobs (draft/critique loop) and reviews tested ones.

Composition root: settings and recorded answers are read here, before anything connects.
"""

from __future__ import annotations

import logging

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from bdg_jobs.tenants import load_policies
from bdg_llm.recorded_calls import client_from_settings
from bdg_llm.settings import LlmSettings
from bdg_planner.adapters import AbstractPlanner, AbstractReviewer
from bdg_planner.application import Planning
from bdg_planner.domain import CriticPolicy
from bdg_planner.handlers import PlannerHandlers
from bdg_planner.llm_adapters import LlmPlanner, LlmReviewer
from bdg_planner.plan_steps import PlanFormat, plan_format_of
from bdg_planner.recorded import (
    LoggedPlanner,
    PlannerScript,
    RecordedPlanner,
    RecordedReviewer,
)
from bdg_runtime import service
from bdg_runtime.answers import Answers, answers_or_exit, report
from bdg_runtime.job_replay import ReplaySources
from bdg_runtime.metered_llm import metered
from bdg_runtime.reactions import AnyReaction
from bdg_runtime.settings import Settings
from bdg_tools.code_context import (
    AbstractCodeContext,
    IndexerContext,
    NoCodeContext,
    RecordedCodeContext,
)

NAME = "planner"
log = logging.getLogger("bdg_planner")


class PlannerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    bdg_plan_score_threshold: int = Field(
        default=8, ge=1, le=10, description="critic score that ends the plan loop"
    )
    bdg_plan_max_iterations: int = Field(
        default=3, ge=1, le=20, description="drafts before the best one is taken anyway"
    )
    bdg_plan_format: PlanFormat = Field(
        default="checklist",
        description="how drafts are asked for: a free markdown checklist, or 'steps' (at most "
        "6 short steps, schema-bound: never cut; bdg up sets it for the offline model)",
    )
    bdg_plan_context_timeout_seconds: float = Field(
        default=5.0, gt=0, description="wait for the indexer's code context, then plan without"
    )


MODEL_ROLES = frozenset({"planner", "critic", "reviewer"})


def _handlers(
    planner: AbstractPlanner,
    reviewer: AbstractReviewer,
    settings: PlannerSettings,
    code: AbstractCodeContext,
) -> PlannerHandlers:
    policy = CriticPolicy(settings.bdg_plan_score_threshold, settings.bdg_plan_max_iterations)
    tenants = load_policies(Settings().bdg_tenant_policies)
    return PlannerHandlers(Planning(planner, reviewer, policy, tenants, code))


def build(
    answers: Answers, settings: PlannerSettings, code: AbstractCodeContext | None = None
) -> PlannerHandlers:
    code = code or NoCodeContext()
    if answers.source:  # recorded answers were asked for (BDG_ANSWERS_FILE): tests, the demo
        return _handlers(RecordedPlanner(answers), RecordedReviewer(answers), settings, code)
    # a model: OPENAI_BASE_URL (the offline local model under `bdg up`), or OpenAI
    llm = LlmSettings()
    client = metered(client_from_settings(llm), Settings().database_url, llm)
    planner = LlmPlanner(client, plan_format=settings.bdg_plan_format)
    return _handlers(planner, LlmReviewer(client), settings, code)


def replay_reactions(sources: ReplaySources) -> list[AnyReaction]:
    """The planner again with the critic bar the job recorded, its model answered from the
    job's recorded calls (or, for a job planned from a recorded script, from the drafts,
    critiques and reviews it recorded)."""
    code = RecordedCodeContext(sources.history, producer="planner")
    policy = CriticPolicy.from_recorded(sources.settings)
    planner: AbstractPlanner
    reviewer: AbstractReviewer
    if sources.called_model_as(MODEL_ROLES):
        drafted = plan_format_of(sources.settings)
        planner = LlmPlanner(sources.llm, plan_format=drafted)
        reviewer = LlmReviewer(sources.llm)
    else:
        planner = reviewer = LoggedPlanner(sources.history)
    return PlannerHandlers(Planning(planner, reviewer, policy, code=code)).reactions()


def run() -> None:
    settings = PlannerSettings()
    answers = answers_or_exit(NAME, PlannerScript)

    def reactions(ctx: service.ServiceContext) -> list[AnyReaction]:
        context = IndexerContext(ctx.nc, timeout=settings.bdg_plan_context_timeout_seconds)
        handlers = build(answers, settings, context)
        if answers.source:
            report(answers, log)
        else:
            llm = LlmSettings()
            log.info(
                "model: %s at %s", llm.model_for("planner"), llm.openai_base_url or "api.openai.com"
            )
        log.info("plan loop: %s", handlers.planning.policy)
        return handlers.reactions()

    service.run(NAME, reactions)


if __name__ == "__main__":
    run()

"""Coder service: turns an approved plan (or failed tests, or a rejecting review) into patches.

Composition root: settings, recorded answers and recorded model calls are read here, before
anything connects. ``BDG_ANSWERS_FILE`` set: the recorded coder; otherwise the model-driven
tool loop over the sandbox at ``AGENT_SANDBOX_ENDPOINT``, its model from ``OPENAI_BASE_URL``...
(or ``BDG_LLM_RECORDINGS``).
"""

from __future__ import annotations

import logging
import shlex

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bdg_coder.application import Coding
from bdg_coder.domain import pinned_base
from bdg_coder.handlers import CoderHandlers
from bdg_coder.limits import limits_for_context
from bdg_coder.loop_decisions import LoopLimits
from bdg_coder.recorded import CoderScript, LoggedCoder, RecordedCoder
from bdg_coder.registries import live_registry, replay_registry
from bdg_coder.run_settings import (
    MAX_CANDIDATES,
    MAX_RESAMPLES,
    RunSettings,
    SelectionSettings,
)
from bdg_coder.strategy import Strategy, resolve
from bdg_coder.tool_loop_coder import ToolLoopCoder
from bdg_coder.workspace import NoWorkspaces, SandboxWorkspaces
from bdg_llm.recorded_calls import RecordingsError, client_from_settings, describe_client
from bdg_llm.settings import LlmSettings
from bdg_runtime import service
from bdg_runtime.answers import Answers, answers_or_exit
from bdg_runtime.job_replay import ReplaySources
from bdg_runtime.metered_llm import metered
from bdg_runtime.reactions import AnyReaction
from bdg_runtime.recorded_service import Handlers, run_recorded
from bdg_runtime.settings import Settings
from bdg_sandbox.client import SandboxClient
from bdg_tools.code_context import IndexerContext, RecordedCodeContext
from bdg_tools.policy import PolicyError, ToolPolicy

NAME = "coder"
MODEL_ROLES = frozenset({"coder"})
log = logging.getLogger("bdg_coder")


class CoderSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    bdg_coder_max_steps: int | None = Field(
        default=None,
        ge=1,
        le=1_000,
        description="model turns (tool calls) per coding attempt; unset: 25, fewer for a "
        "model with a small context (BDG_LLM_CONTEXT_TOKENS)",
    )
    bdg_coder_token_budget: int = Field(
        default=200_000, ge=1, description="prompt + completion tokens per coding attempt"
    )
    bdg_coder_result_chars: int | None = Field(
        default=None,
        ge=200,
        description="a tool result shown to the model is cut to this; unset: 8,000, less for "
        "a small context",
    )
    bdg_coder_context_chars: int | None = Field(
        default=None,
        ge=1_000,
        description="conversation size beyond which old turns go; unset: 60,000, less for a "
        "small context",
    )
    bdg_coder_native_tools: bool = Field(
        default=False,
        description="OpenAI's tools/tool_calls; false: a JSON schema of the tool union",
    )
    bdg_coder_candidates: int = Field(
        default=1,
        ge=1,
        le=MAX_CANDIDATES,
        description="test-driven selection: independent runs of the loop per attempt, each in "
        "its own workspace, the one passing the most visible tests kept; 1: the loop alone",
    )
    bdg_coder_resamples: int = Field(
        default=0,
        ge=0,
        le=MAX_RESAMPLES,
        description="rewrite strategy: while the visible tests fail on a run's change, ask for "
        "its definitions again (shown the failures, sampled) up to this many times, keeping "
        "one only when the tests go better; 0: never",
    )
    bdg_coder_early_resample: bool = Field(
        default=True,
        description="rewrite strategy: on a first attempt, land the goal's examples and run the "
        "tests before the model writes its own; when one fails, ask for a definition again "
        "(shown the failures, sampled), keeping it only when the tests go better, up to three "
        "times while each is kept",
    )
    bdg_coder_test_command: str | None = Field(
        default=None,
        max_length=1_000,
        description="the visible tests a candidate is checked with (split like a shell "
        "would); unset: the npm test script, else pytest, else unittest discovery",
    )
    # loop by default: on the agent bench's 0.5B run the pipeline did not beat the loop yet
    # (README, "The coding loop"); auto is one setting away once it does.
    bdg_coder_strategy: Strategy = Field(
        default=Strategy.loop,
        description="loop: the tool loop; pipeline: localize -> one answer of edits -> "
        "validate; rewrite: the pipeline asking for one whole definition per answer; auto: "
        "rewrite for the bundled offline models (BDG_MODEL_CODER), the loop for others",
    )
    bdg_coder_context_timeout_seconds: float = Field(
        default=5.0, gt=0, description="wait for the indexer's code context, then code without"
    )

    def selection(self) -> SelectionSettings:
        command = self.bdg_coder_test_command
        argv = tuple(shlex.split(command)) if command and command.strip() else None
        return SelectionSettings(
            self.bdg_coder_candidates,
            argv,
            self.bdg_coder_resamples,
            self.bdg_coder_early_resample,
        )

    def limits(
        self, context_tokens: int | None = None, strategy: Strategy = Strategy.loop
    ) -> LoopLimits:
        """Those set explicitly; the others follow the served model's context size (the steps
        only for the tool loop: ``limits_for_context``)."""
        conversation = strategy not in (Strategy.pipeline, Strategy.rewrite)
        derived = limits_for_context(context_tokens, conversation=conversation)
        return LoopLimits(
            self.bdg_coder_max_steps or derived.max_steps,
            self.bdg_coder_token_budget,
            self.bdg_coder_result_chars or derived.result_chars,
            self.bdg_coder_context_chars or derived.context_chars,
        )


def build(answers: Answers) -> Handlers:
    return CoderHandlers(Coding(RecordedCoder(answers)))


def replay_reactions(sources: ReplaySources) -> list[AnyReaction]:
    """The same handlers: a model-driven attempt re-runs its loop with the limits and tool
    policy the job recorded, the model answered from the job's LlmCalled events and every tool
    from its tool events (nothing runs); a scripted one is answered from the patches the job
    recorded."""
    if not sources.called_model_as(MODEL_ROLES):
        return CoderHandlers(Coding(LoggedCoder(sources.history))).reactions()
    ran_with = RunSettings.from_recorded(sources.settings)
    coder = ToolLoopCoder(
        sources.llm,
        replay_registry(ran_with.policy),
        NoWorkspaces(pinned_base(sources.history)),
        RecordedCodeContext(sources.history, producer="coder"),
        ran_with.limits,
        ran_with.native_tools,
        ran_with.policy,
        ran_with.selection,
        ran_with.strategy,
    )
    return CoderHandlers(Coding(coder)).reactions()


def run() -> None:
    answers = answers_or_exit(NAME, CoderScript)
    if answers.source:  # recorded answers were asked for (BDG_ANSWERS_FILE): tests, the demo
        run_recorded(NAME, build, CoderScript)
        return
    try:
        settings, llm = CoderSettings(), LlmSettings()
    except ValidationError as error:  # e.g. BDG_CODER_STRATEGY=loops: say which and what may be
        logging.basicConfig()
        log.error("%s", error)
        raise SystemExit(2) from error
    endpoint = Settings().agent_sandbox_endpoint
    strategy = resolve(settings.bdg_coder_strategy, llm.bdg_model_coder)
    try:
        client = metered(client_from_settings(llm), Settings().database_url, llm)
        policy = ToolPolicy.from_env()
        SandboxClient(endpoint)  # a malformed endpoint is a configuration error
    except (RecordingsError, PolicyError, ValueError) as error:
        logging.basicConfig()
        log.error("%s", error)
        raise SystemExit(2) from error

    context = llm.bdg_llm_context_tokens
    limits = settings.limits(context, strategy)
    try:
        selection = settings.selection()
    except ValueError as error:  # an unbalanced quote in the test command
        logging.basicConfig()
        log.error("BDG_CODER_TEST_COMMAND: %s", error)
        raise SystemExit(2) from error

    def reactions(ctx: service.ServiceContext) -> list[AnyReaction]:
        sandbox = SandboxClient(endpoint)
        search = settings.bdg_coder_context_timeout_seconds
        coder = ToolLoopCoder(
            client,
            live_registry(sandbox, ctx.nc, policy),
            SandboxWorkspaces(sandbox),
            IndexerContext(ctx.nc, timeout=search),
            limits,
            settings.bdg_coder_native_tools,
            policy,
            selection,
            strategy,
        )
        log.info("model: %s", describe_client(llm, "coder"))
        log.info("tool loop: %s (model context: %s tokens)", limits, context or "large")
        log.info("candidates per attempt: %d", selection.candidates)
        log.info("strategy: %s (%s)", strategy.value, settings.bdg_coder_strategy.value)
        return CoderHandlers(Coding(coder)).reactions()

    service.run(NAME, reactions)


if __name__ == "__main__":
    run()

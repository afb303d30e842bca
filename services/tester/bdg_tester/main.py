"""Tester service: runs the tests of every finished coding attempt.

Composition root. With `BDG_ANSWERS_FILE` set (tests, the demo) test runs are answered from the
recorded script; otherwise they run in sandboxd at `AGENT_SANDBOX_ENDPOINT`. The client
connects on the first run: a sandbox that does not answer then fails that delivery, which is
retried (the runtime reports at start whether one answers).
"""

from __future__ import annotations

import logging

from nats.aio.client import Client

from bdg_jobs.tenants import load_policies
from bdg_runtime import service
from bdg_runtime.answers import Answers, answers_or_exit, report
from bdg_runtime.job_replay import ReplaySources
from bdg_runtime.reactions import AnyReaction
from bdg_runtime.settings import Settings
from bdg_sandbox.client import SandboxClient
from bdg_tester.adapters import RecordedOutcomes
from bdg_tester.application import Testing
from bdg_tester.handlers import TesterHandlers
from bdg_tester.recorded import RecordedTestRunner, TesterScript
from bdg_tester.sandbox.install_progress import NatsProgress
from bdg_tester.sandbox.runner import SandboxTestRunner
from bdg_tester.settings import TesterSettings

NAME = "tester"
log = logging.getLogger("bdg_tester")


def build(
    answers: Answers,
    endpoint: str,
    settings: TesterSettings | None = None,
    nc: Client | None = None,
) -> TesterHandlers:
    if answers.source:  # recorded answers were asked for
        return TesterHandlers(Testing(RecordedTestRunner(answers)))
    settings = settings or TesterSettings()
    try:
        client = SandboxClient(endpoint)
    except ValueError as error:
        raise service.ConfigurationError(f"AGENT_SANDBOX_ENDPOINT: {error}") from error
    progress = NatsProgress(nc) if nc is not None else None  # the installs' reports
    policies = load_policies(Settings().bdg_tenant_policies)  # require_failing_first per tenant
    runner = SandboxTestRunner(client, settings, progress=progress, policies=policies)
    return TesterHandlers(Testing(runner), timeout=settings.bdg_test_step_timeout_seconds)


def replay_reactions(sources: ReplaySources) -> list[AnyReaction]:
    """The same handlers; each test run answered by the outcome the job recorded for it (a
    replay never runs tests again, whether they ran in the sandbox or came from a script)."""
    return TesterHandlers(Testing(RecordedOutcomes(sources.history))).reactions()


def run() -> None:
    answers = answers_or_exit(NAME, TesterScript)
    settings = TesterSettings()

    def reactions(ctx: service.ServiceContext) -> list[AnyReaction]:
        handlers = build(answers, ctx.settings.agent_sandbox_endpoint, settings, ctx.nc)
        if answers.source:
            report(answers, log)
        else:
            state = "answers" if ctx.sandbox.available else "does NOT answer yet"
            log.info(
                "test runs in sandboxd at %s, which %s (%s)",
                ctx.sandbox.endpoint,
                state,
                ctx.sandbox.detail,
            )
        return handlers.reactions()

    service.run(NAME, reactions)


if __name__ == "__main__":
    run()

"""Test-driven selection (``BDG_CODER_CANDIDATES`` > 1): the attempt's loop run several times,
each candidate in a workspace of its own built from the same recipe, the visible tests run on
each change, the candidates judged by each other's proven tests (``cross_check``), and the best
kept (``ranking.choose``), shipped with a proven test; CandidatesCompared records them all.
A candidate whose visible tests pass and whose own test is proven ends the sampling: the tester
will take it, and another sample costs a whole loop.

Candidate 1 is the attempt's usual run (its workspace, scopes and temperature 0); candidate k
samples (temperature > 0, seed k) in ``<job>-c<attempt>-k<k>`` with scopes ``c<attempt>k<k>``.
Once a candidate's tests are recorded, its model calls are recorded aside: a redelivered step
takes its answers, diff and test run from the log, and neither pays nor runs it again.
"""

from __future__ import annotations

from dataclasses import replace

from bdg_coder.adapters import Session
from bdg_coder.attempt_run import AttemptRun
from bdg_coder.domain import Changes, Patch
from bdg_coder.llm_adapters import CoderLlm
from bdg_coder.loop_decisions import LoopState, Stop, summary_of
from bdg_coder.run_settings import CANDIDATE_TEMPERATURE, SelectionSettings
from bdg_coder.selecting.cross_check import Agreement, shipped_patch
from bdg_coder.selecting.cross_run import CrossRun
from bdg_coder.selecting.ranking import Tried, choose, outcome_of
from bdg_coder.workspace import AbstractWorkspaces
from bdg_contracts.events import CandidateOutcome
from bdg_jobs.domain import Cause, Job
from bdg_llm.journal import take
from bdg_llm.llm_called_fields import fields_for_event


def candidate_workspaces(workspace: str, candidates: int) -> list[str]:
    """The attempt's workspace, then each further candidate's."""
    return [workspace] + [f"{workspace}-k{k}" for k in range(2, candidates + 1)]


class Selecting:
    def __init__(
        self, selection: SelectionSettings, workspaces: AbstractWorkspaces, session: Session
    ) -> None:
        self.selection, self.workspaces, self.session = selection, workspaces, session

    async def run(self, first: AttemptRun, base_commit: str) -> Changes:
        ctx = first.ctx
        names = candidate_workspaces(ctx.workspace, self.selection.candidates)
        tried: list[Tried] = []
        runs: list[AttemptRun] = []
        cross = CrossRun(self.workspaces, first, self.selection.check_argv)
        for k, workspace in enumerate(names, start=1):
            if k == 1:
                run: AttemptRun = first
            else:
                await self.workspaces.prepare(ctx.tenant_id, workspace, first.task.recipe)
                run = replace(
                    first,
                    ctx=replace(ctx, workspace=workspace),
                    llm=CoderLlm(first.llm.client, first.task.parked.calls),
                    state=LoopState(first.state.limits),
                    prefix=f"{first.prefix}k{k}",
                    temperature=CANDIDATE_TEMPERATURE,
                    extra={"seed": k},
                )
            await run.loop()
            if run.state.stop is Stop.waiting:  # the calls so far are parked by the caller
                return Changes((), waiting=run.state.waiting)
            run.state.end()
            diff = await run.diff()
            checked = await run.check(self.selection.check_argv)
            tests, error = (None, checked) if isinstance(checked, str) else (checked, "")
            tried.append(Tried(k, tuple(diff.paths), diff.patch, tests, error))
            runs.append(run)
            if k < len(names):
                if await cross.proven_pass(tried[-1]):
                    break  # what a further sample could add costs a whole loop: stop here
                await self._keep_calls()
        if len(tried) == 1:  # the first candidate's test was proven: nothing to compare
            summary = f"{summary_of(first.state, tried[0].paths)} Its test fails on the base."
            patches = (Patch(tried[0].paths, tried[0].patch),) if tried[0].patch else ()
            return Changes(patches, summary, base_commit=base_commit)
        parts, agreed = await cross.agreements(tried)
        outcomes = tuple(_noted(outcome_of(t), agreed.get(t.index)) for t in tried)
        kept = choose(outcomes, {i: a.agrees for i, a in agreed.items()})
        best, run = tried[kept.index - 1], runs[kept.index - 1]
        paths, patch = best.paths, best.patch
        shipped = agreed.get(kept.index)
        if shipped is not None and shipped.test_from not in (0, kept.index):
            # Its code with another candidate's proven test: its own passes on the base too.
            patch, paths = shipped_patch(parts[kept.index], parts[shipped.test_from])
        patches = (Patch(paths, patch),) if patch else ()
        summary = (
            f"{summary_of(run.state, paths)} Kept candidate {kept.index} of "
            f"{len(outcomes)} (visible tests: {kept.passed} passed, {kept.failed} failed"
            f"{'; ' + shipped.note if shipped is not None and shipped.note else ''})."
        )
        return Changes(
            patches, summary, base_commit=base_commit, chosen=kept.index, compared=outcomes
        )

    async def _keep_calls(self) -> None:
        """Record the finished candidate's model calls now (its tool calls already are)."""
        calls = take()

        def record(job: Job, cause: Cause) -> None:
            for role, result in calls:
                job.record_llm_call(cause, **fields_for_event(result, role))

        if calls:
            await self.session.record_aside(record)


def _noted(outcome: CandidateOutcome, agreed: Agreement | None) -> CandidateOutcome:
    if agreed is None or not agreed.note:
        return outcome
    note = "; ".join(n for n in (outcome.note, agreed.note) if n)
    return outcome.model_copy(update={"note": note})

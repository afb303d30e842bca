"""The job's work decisions: code, tests, review, deploy, canary and rollback.

Tests that still fail on the last attempt, and a review that rejects a rework, end the step
(``fail_step``) in the same decision: the job never waits for a retry nobody will make.
"""

from __future__ import annotations

from bdg_contracts import events as ev
from bdg_contracts.states import Step
from bdg_jobs.aggregate import Cause
from bdg_jobs.errors import DigestMismatchError, IllegalTransitionError
from bdg_jobs.job_control import ControlDecisions


class WorkDecisions(ControlDecisions):
    def change_files(self, cause: Cause, patch: str, paths: tuple[str, ...]) -> None:
        self._append(ev.FilesChanged, cause, attempt=self.attempt, patch=patch, paths=paths)

    def compare_candidates(
        self, cause: Cause, chosen: int, candidates: tuple[ev.CandidateOutcome, ...]
    ) -> None:
        self._append(
            ev.CandidatesCompared,
            cause,
            attempt=self.attempt,
            chosen=chosen,
            candidates=candidates,
        )

    def finish_coding(self, cause: Cause, summary: str = "", base_commit: str = "") -> None:
        self._append(
            ev.CodingFinished,
            cause,
            attempt=self.attempt,
            summary=summary,
            base_commit=base_commit,
        )

    def pass_tests(self, cause: Cause, results: ev.TestResults) -> None:
        self._append(ev.TestsPassed, cause, attempt=self.attempt, results=results)

    def fail_tests(self, cause: Cause, results: ev.TestResults, analysis: str) -> None:
        last = self.attempt >= self.max_attempts
        failed = self._append(
            ev.TestsFailed, cause, attempt=self.attempt, results=results, analysis=analysis
        )
        if last:
            self.fail_step(
                cause,
                Step.testing,
                cause.producer,
                f"tests still failing after {self.attempt} attempts: {analysis}",
                failed.version,
            )

    def complete_review(self, cause: Cause, approved: bool, score: int, notes: str) -> None:
        rework_spent = not approved and self.review_reworks >= 1
        review = self._append(
            ev.ReviewCompleted, cause, approved=approved, score=score, notes=notes
        )
        if rework_spent:
            self.fail_step(
                cause,
                Step.reviewing,
                cause.producer,
                f"review rejected again after one rework: {notes}",
                review.version,
            )

    def await_deploy_approval(
        self, cause: Cause, target: str, preview: str = "", digest: str = ""
    ) -> None:
        if not self.review_approved:
            raise IllegalTransitionError(
                "cannot ask for deploy approval before an approving review"
            )
        self._append(
            ev.DeployAwaitingApproval, cause, target=target, preview=preview, digest=digest
        )

    def measure_preview(
        self, cause: Cause, release: str, url: str, scores: dict[str, int], bar: int
    ) -> bool:
        """Record the preview's Lighthouse scores; a category below ``bar`` ends the job here
        with the scores named (the deploy is never offered). True when every score passed."""
        if not self.review_approved:
            raise IllegalTransitionError("cannot measure a preview before an approving review")
        measured = self._append(
            ev.PreviewMeasured, cause, release=release, url=url, scores=scores, bar=bar
        )
        below = measured.below_bar()
        if below:
            failing = ", ".join(f"{c} {s}" for c, s in below.items())
            self.fail_step(
                cause,
                Step.reviewing,
                cause.producer,
                f"the preview {url} failed Lighthouse: {failing} (each must be >= {bar}; "
                f"all: {measured.line()}): the deploy was not offered for approval",
                measured.version,
            )
        return not below

    def approve_deploy(self, cause: Cause, approved_by: str, digest: str | None = None) -> None:
        """``digest``: the one the approver reviewed; it must be the one asked for. None (a
        client from before digests) approves the one asked for: while a job awaits approval
        its digest cannot change (a DeployAwaitingApproval comes only from reviewing), so it
        is the digest that client was shown; the deployer publishes nothing else."""
        pending = self.deploy_digest
        if digest is not None and digest != pending:
            raise DigestMismatchError(
                f"the deploy awaiting approval has digest {pending or '(none)'}; the approval "
                f"names {digest}: "
                "look at the deploy again (GET /jobs/{id}: deploy_digest) and approve that"
            )
        self._append(ev.DeployApproved, cause, approved_by=approved_by, digest=pending)

    def deploy(
        self,
        cause: Cause,
        url: str,
        canary: bool = False,
        branch: ev.DeliveredBranch | None = None,
    ) -> None:
        self._append(ev.Deployed, cause, url=url, canary=canary, branch=branch)

    def promote_canary(self, cause: Cause) -> None:
        if not self.canary:
            raise IllegalTransitionError("no canary deployment to promote")
        self._append(ev.CanaryPromoted, cause, url=self.deployed_url)

    def request_rollback(self, cause: Cause, reason: str) -> None:
        if not self.deployed_url:
            raise IllegalTransitionError("nothing was deployed, nothing to roll back")
        self._append(ev.RollbackRequested, cause, reason=reason)

    def roll_back(self, cause: Cause, to_url: str = "") -> None:
        self._append(ev.RolledBack, cause, to_url=to_url)

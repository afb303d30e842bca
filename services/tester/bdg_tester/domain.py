"""Pure testing logic: what a test run works on, its verdict and the numbers the job records."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bdg_contracts.base import Event
from bdg_contracts.events import CodingFinished, FilesChanged, JobRequested, TestResults
from bdg_tester.analysis.exercised import changed_paths

REFUSED = frozenset({"not_proven", "no_test"})  # fail-to-pass verdicts that fail the run
# The producer of the tester's own FilesChanged (scaffolded tests): no change of the job's.
SCAFFOLDER = "tester"
NOTHING_CHANGED = (
    "## Test analysis\n\nThe change is empty: no file of the repository was changed (the "
    "tests the tester scaffolds do not count), so there is nothing the tests could prove and "
    "nothing to deploy. Make the change the goal asks for."
)


# "a new module text.py", "a new file `src/dates.js`": what the goal says the change creates.
_NEW_FILE = re.compile(r"\bnew (?:module|file)\s+`?((?:[\w.-]+/)*[\w-]+\.[A-Za-z]{1,5})\b`?")


def files_not_created(goal: str, patches: Sequence[str]) -> tuple[str, ...]:
    """The files the goal asks to create ("a new module text.py") that no patch of the job
    creates or changes (under any folder: ``src/text.py`` is a ``text.py``)."""
    changed = changed_paths(patches)
    named = dict.fromkeys(m.group(1) for m in _NEW_FILE.finditer(goal))
    return tuple(
        path
        for path in named
        if not any(p == path or p.endswith("/" + path.removeprefix("./")) for p in changed)
    )


def not_created(paths: Sequence[str]) -> TestRun:
    """The run of a job that does not create the files its goal asks for, decided without a
    sandbox: a refactor into "a new module text.py" reached the deploy approval on the agent
    bench with no text.py, its callers' tests passing on the old code (a refactor needs no
    failing test)."""
    listed = ", ".join(f"`{p}`" for p in paths)
    why = (
        f"## Test analysis\n\nThe goal asks for a new file {listed}, and the change does not "
        "create it: the tests passing on the old code prove nothing about the change. Create "
        "it, and make the code the goal is about use it."
    )
    return TestRun(TestResults(output_tail=f"[bdg] not created: {listed}"), False, why)


@dataclass(frozen=True)
class TestTask:
    """One test run's input. The workspace is `repo` at `base_ref` plus `patches` in order (the
    job's FilesChanged events so far); `trigger_version` is the CodingFinished it answers."""

    __test__ = False  # not a pytest class

    goal: str
    attempt: int
    repo: str = ""
    tenant: str = ""
    job_id: str = ""
    base_ref: str = "HEAD"
    patches: tuple[str, ...] = ()
    trigger_version: int = 0
    # The job changed a file (the tester's scaffolded tests aside): an empty change is no pass.
    changed: bool = True

    @property
    def workspace(self) -> str:
        """The workspace's name, a prefix the runner makes unique per run."""
        return f"{self.job_id}-t{self.attempt}"


def task_for(history: Sequence[Event], trigger: Event, attempt: int) -> TestTask:
    """The test run a job's history asks for when `trigger` (its CodingFinished) arrives."""
    requested = next((e for e in history if isinstance(e, JobRequested)), None)
    if requested is None:
        raise ValueError("a job's history starts with JobRequested")
    upto = [e for e in history if e.version <= trigger.version]
    changes = [e for e in upto if isinstance(e, FilesChanged) and e.patch.strip()]
    patches = tuple(e.patch for e in changes)
    # the commit the coder built on, not the ref's name: the branch may have moved since
    pinned = next(
        (e.base_commit for e in upto if isinstance(e, CodingFinished) and e.base_commit), ""
    )
    return TestTask(
        goal=requested.goal,
        attempt=attempt,
        repo=requested.repo,
        tenant=trigger.tenant_id,
        job_id=str(trigger.job_id),
        base_ref=pinned or requested.base_ref or "HEAD",
        patches=patches,
        trigger_version=trigger.version,
        changed=any(e.producer != SCAFFOLDER for e in changes),
    )


def nothing_changed() -> TestRun:
    """The run of a job whose change is empty, decided without a sandbox: a small model that
    could not land an edit must not reach the deploy approval on the project's old tests."""
    return TestRun(TestResults(output_tail="[bdg] the change is empty"), False, NOTHING_CHANGED)


@dataclass(frozen=True)
class TestRun:
    """One run of the project's tests, as the runner reported it."""

    __test__ = False

    results: TestResults
    runner_passed: bool
    analysis: str = ""
    # Tests the runner scaffolded for a project that had none (a diff on the workspace it was
    # given, and the files it touches): they join the job's change, so later attempts and the
    # final diff have them.
    scaffold_patch: str = ""
    scaffold_paths: tuple[str, ...] = ()
    # The change's code files, when the tests ran none of them: the pass proves nothing.
    unexercised: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """A pass needs the runner's word, no failure, at least one test that ran, a change
        the tests ran, and (for a behaviour change) a test that fails without it."""
        return (
            self.runner_passed
            and self.results.failed == 0
            and self.results.total > 0
            and not self.unexercised
            and not self.unproven
        )

    @property
    def unproven(self) -> bool:
        """The fail-to-pass check refused the change: its tests prove nothing about it."""
        check = self.results.fail_to_pass
        return check is not None and check.verdict in REFUSED

    @property
    def why_failed(self) -> str:
        if self.analysis:
            return self.analysis
        if self.results.total == 0:
            return "no tests ran"
        return self.results.headline()

"""The fail-to-pass check's I/O: the change's test files run on the base code.

A second sandbox workspace holds the repo at the job's base commit plus only the test files of
its patches (analysis/fail_to_pass.py cuts them out); its projects are tested as the change's
were (no scaffolding: the tests are the change's own), then it is dropped. Their dependencies are
a copy of what the change's run installed when the two workspaces' dependency files are the
same (reuse.py), else installed again. What the two runs prove is decided by the pure module.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from typing import TYPE_CHECKING

from bdg_contracts.events import FailToPass
from bdg_sandbox.client import SandboxRequestError
from bdg_tester.analysis.exercised import changed_paths
from bdg_tester.analysis.fail_to_pass import before_the_check, judge, patches_of_tests, with_check
from bdg_tester.analysis.verdict import ProjectOutcome
from bdg_tester.detection.detect import detect_projects
from bdg_tester.detection.projects import Project
from bdg_tester.detection.tree import wants_text
from bdg_tester.domain import TestRun, TestTask
from bdg_tester.sandbox.env import HOME
from bdg_tester.sandbox.files import WorkspaceFiles
from bdg_tester.sandbox.install_progress import InstallReporter
from bdg_tester.sandbox.progress import PhaseTimer
from bdg_tester.sandbox.project import ProjectRunner
from bdg_tester.sandbox.reuse import Installed, copy_installed, differing, reusable_dirs

if TYPE_CHECKING:
    from bdg_tester.sandbox.runner import SandboxTestRunner

log = logging.getLogger("bdg_tester.runner")


async def check_fail_to_pass(
    tester: SandboxTestRunner,
    task: TestTask,
    installed: Installed,
    run: TestRun,
    after: list[ProjectOutcome],
    timer: PhaseTimer,
) -> TestRun:
    """``run`` (a pass) with the check's verdict; refused: a failed run saying why."""
    if not tester.requires_failing_first(task.tenant):
        return with_check(run, FailToPass(verdict="off"))
    paths = changed_paths(task.patches)
    early = before_the_check(task.goal, paths)
    if early is not None:
        return with_check(run, early)
    base = f"{installed.workspace}-base"
    try:
        async with timer.phase("fail-to-pass", base):
            before = await _run_on_base(tester, task, base, installed, timer)
    except SandboxRequestError as error:  # the check's own failure, not the change's
        note = f"the base workspace could not be built or run: {error}"[:2000]
        return with_check(run, FailToPass(verdict="inconclusive", note=note))
    finally:
        async with timer.phase("cleanup", base):
            await tester.drop(task, base)
    runs = {o.project.root: o.as_run() for o in before}
    verdict = judge(paths, [o.as_run() for o in after], runs)
    log.info("job %s attempt %s: fail-to-pass %s", task.job_id, task.attempt, verdict.verdict)
    return with_check(run, verdict)


async def _run_on_base(
    tester: SandboxTestRunner,
    task: TestTask,
    workspace: str,
    installed: Installed,
    timer: PhaseTimer,
) -> list[ProjectOutcome]:
    await tester.client.create_workspace(
        task.tenant, workspace, task.repo, task.base_ref, list(patches_of_tests(task.patches))
    )
    files = WorkspaceFiles(tester.client, task.tenant, workspace)
    tree = await files.tree(wants_text)
    projects = [p for p in detect_projects(tree) if p.has_tests and p.test]
    runner = ProjectRunner(tester.client, tester.settings, task.tenant, workspace, files, timer)
    # nobody watches the base's install: its progress is not reported
    reporter = InstallReporter(None, task, tester.settings.bdg_test_progress_seconds)
    copied = await _copy_installed(tester, task, workspace, installed, projects, tree, timer)
    outcomes = await tester.projects(runner, projects, tree, reporter, installed=copied)
    with suppress(SandboxRequestError):
        await files.remove(HOME)
    return outcomes


async def _copy_installed(
    tester: SandboxTestRunner,
    task: TestTask,
    workspace: str,
    installed: Installed,
    projects: list[Project],
    tree: dict[str, str],
    timer: PhaseTimer,
) -> bool:
    """Whether the base got the change's installed dependencies (reuse.py); else it installs."""
    changed = differing(task.patches, installed.written)
    dirs = reusable_dirs(projects, installed, changed, tree)
    if isinstance(dirs, str):
        log.info("%s: installing again: %s", workspace, dirs)
        return False
    async with timer.phase("reuse", workspace):
        failed = await copy_installed(tester.client, task.tenant, installed, workspace, dirs)
    if failed:
        log.warning("%s: installing again: %s", workspace, failed)
    return not failed

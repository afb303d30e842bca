"""The test runner on sandboxd: a fresh workspace per run, every project in it tested.

A run: build the workspace (repo at base_ref + the job's patches, all or nothing), list it and
read its manifests, detect the projects, scaffold tests where a project has none, then per
project install its dependencies (registry-only egress) and run its tests (no network), read
back the results and coverage files and parse them. Once they pass, the fail-to-pass check
(base_run.py) runs the change's test files on the base code in a second workspace. The
workspaces are dropped afterwards, also when the run fails. An unreachable sandbox raises
SandboxUnavailableError (the delivery is retried); a workspace that cannot be built (unknown
repo or ref, a patch that does not apply) raises WorkspaceBuildError, which fails the step at
once.
"""

from __future__ import annotations

import logging
import secrets
from contextlib import suppress
from dataclasses import replace

from bdg_jobs.tenants import TenantPolicies
from bdg_runtime.reactions import StepError
from bdg_sandbox.client import SandboxClient, SandboxRequestError, SandboxUnavailableError
from bdg_tester.adapters import AbstractTestRunner
from bdg_tester.analysis.exercised import added_paths, changed_paths
from bdg_tester.analysis.model import RunOutput
from bdg_tester.analysis.verdict import ProjectOutcome, budget_for, combine, install_failed
from bdg_tester.browser.check import SandboxBrowserCheck
from bdg_tester.browser.plan import browser_plan
from bdg_tester.browser.screenshots import ScreenshotStore
from bdg_tester.browser.step import browser_step
from bdg_tester.detection.detect import detect_projects
from bdg_tester.detection.projects import Argv, Kind, Project
from bdg_tester.detection.tree import wants_text
from bdg_tester.domain import TestRun, TestTask
from bdg_tester.sandbox.base_run import check_fail_to_pass
from bdg_tester.sandbox.env import HOME, MAKE_VENV, install_commands, install_env, needs_venv
from bdg_tester.sandbox.file_patch import files_patch
from bdg_tester.sandbox.files import WorkspaceFiles
from bdg_tester.sandbox.install_progress import InstallReporter, Sink
from bdg_tester.sandbox.progress import PhaseHook, PhaseTimer
from bdg_tester.sandbox.project import ProjectRunner, Written, scaffold_missing
from bdg_tester.sandbox.reuse import Installed
from bdg_tester.settings import TesterSettings

log = logging.getLogger("bdg_tester.runner")


class WorkspaceBuildError(StepError):
    """The job's workspace cannot be built: retrying the same repo and patches cannot help."""


class SandboxTestRunner(AbstractTestRunner):
    def __init__(
        self,
        client: SandboxClient,
        settings: TesterSettings | None = None,
        on_phase: PhaseHook | None = None,
        progress: Sink | None = None,
        policies: TenantPolicies | None = None,
    ) -> None:
        self.client = client
        self.settings = settings or TesterSettings()
        self.policies = policies or TenantPolicies()
        self.on_phase = on_phase
        self.progress = progress  # where the installs' progress reports go
        self.screenshots = ScreenshotStore(self.settings.bdg_test_artifacts_dir)
        limits = self.settings.limits(self.settings.bdg_test_run_timeout_seconds)
        self.browser = SandboxBrowserCheck(client, limits, self.settings.bdg_test_chromium)

    async def run(self, task: TestTask) -> TestRun:
        # Unique per run: a re-driven delivery running beside this one gets its own workspace.
        workspace = f"{task.workspace}-{secrets.token_hex(4)}"
        timer = PhaseTimer(log, f"job {task.job_id} attempt {task.attempt}", self.on_phase)
        try:
            async with timer.phase("workspace", workspace):
                await self._create(task, workspace)
            return await self._run(task, workspace, timer)
        finally:
            async with timer.phase("cleanup", workspace):
                await self.drop(task, workspace)

    def requires_failing_first(self, tenant: str) -> bool:
        """The fail-to-pass check: the tenant's policy, else BDG_TEST_REQUIRE_FAILING_FIRST."""
        chosen = self.policies.for_tenant(tenant).require_failing_first
        return (chosen or self.settings.bdg_test_require_failing_first) == "on"

    async def _create(self, task: TestTask, workspace: str) -> None:
        try:
            await self.client.create_workspace(
                task.tenant, workspace, task.repo, task.base_ref, list(task.patches)
            )
        except SandboxRequestError as error:
            if error.code in ("invalid", "not_found"):
                where = f"{task.repo or '(empty)'}@{task.base_ref}"
                raise WorkspaceBuildError(
                    f"cannot build the workspace from {where} and {len(task.patches)} "
                    f"patch(es): {error}"
                ) from error
            raise

    async def drop(self, task: TestTask, workspace: str) -> None:
        try:
            await self.client.drop_workspace(task.tenant, workspace)
        except (SandboxUnavailableError, SandboxRequestError) as error:
            log.warning("workspace %s not dropped: %s", workspace, error)

    async def _run(self, task: TestTask, workspace: str, timer: PhaseTimer) -> TestRun:
        files = WorkspaceFiles(self.client, task.tenant, workspace)
        async with timer.phase("detect"):
            tree = await files.tree(wants_text)
            projects = detect_projects(tree)
        notes: list[str] = []
        written: Written = {}
        if any(not p.has_tests or not p.test for p in projects):
            async with timer.phase("scaffold"):
                projects, tree = await scaffold_missing(files, projects, tree, notes, written)
        runnable = [p for p in projects if p.has_tests and p.test]
        log.info(
            "job %s: %d project(s) to test: %s",
            task.job_id,
            len(runnable),
            ", ".join(f"{p.root} ({p.kind.value}, {p.framework.value})" for p in runnable),
        )
        runner = ProjectRunner(self.client, self.settings, task.tenant, workspace, files, timer)
        every = self.settings.bdg_test_progress_seconds
        reporter = InstallReporter(self.progress, task, every)
        outcomes = await self.projects(runner, runnable, tree, reporter)
        with suppress(SandboxRequestError):  # the installs' HOME: not worth keeping
            await files.remove(HOME)
        run = combine(outcomes, notes, changed_paths(task.patches), added_paths(task.patches))
        if run.passed:  # do the change's tests fail without it?
            installed = Installed(workspace, tuple(runnable), tuple(sorted(written)))
            run = await check_fail_to_pass(self, task, installed, run, outcomes, timer)
        if run.passed:  # a web app's tests passed: does the built app load in a browser?
            run = await self._browser_checks(runner, runnable, tree, run)
        if not written:
            return run
        # the scaffolded tests join the job's change: the next attempt and the final diff have them
        return replace(
            run, scaffold_patch=files_patch(written), scaffold_paths=tuple(sorted(written))
        )

    async def _browser_checks(
        self, runner: ProjectRunner, projects: list[Project], tree: dict[str, str], run: TestRun
    ) -> TestRun:
        mode = self.settings.bdg_test_browser_check
        notes, screenshot = [], ""
        for project in projects:
            plan = browser_plan(project, tree, mode)
            if plan is None:
                continue
            step = await browser_step(runner, project, plan, self.browser, self.screenshots)
            notes.append(step.note)
            screenshot = screenshot or step.screenshot
            if step.failure:  # the failed check's picture, the note and the analysis
                results = run.results.model_copy(
                    update={"browser": "; ".join(notes)[:1000], "screenshot": step.screenshot}
                )
                return replace(run, results=results, runner_passed=False, analysis=step.failure)
        if not notes:
            return run
        results = run.results.model_copy(
            update={"browser": "; ".join(notes)[:1000], "screenshot": screenshot}
        )
        return replace(run, results=results)

    async def projects(
        self,
        runner: ProjectRunner,
        projects: list[Project],
        tree: dict[str, str],
        reporter: InstallReporter,
        installed: bool = False,
    ) -> list[ProjectOutcome]:
        """Install and test each project; ``installed``: their dependencies are in place
        already (copied from another workspace, reuse.py), nothing is installed."""
        venv = needs_venv(projects)
        no_venv: RunOutput | None = None
        if venv and not installed:
            async with runner.timer.phase("venv"):
                no_venv = await runner.install_step(MAKE_VENV, ".", {}, network="none", cache=False)
        budget = budget_for(len(projects))
        installs: dict[tuple[str, tuple[Argv, ...]], RunOutput | None] = {}
        outcomes = []
        for project in projects:
            files = runner.project_files(project, tree)
            commands = install_commands(project)
            key = (project.install_root, commands)
            if installed:
                installs[key] = None
            elif key not in installs:  # the members of one workspace share its install
                broken = no_venv if project.kind is Kind.python else None
                installs[key] = broken or await reporter.around(
                    project.install_root,
                    self._install(runner, project, commands, venv, reporter),
                    ok=lambda failed: failed is None,
                )
            failure = installs[key]
            if failure is not None:
                outcomes.append(install_failed(project, failure, files, budget))
            else:
                outcomes.append(await runner.test(project, venv, files, budget))
        return outcomes

    async def _install(
        self,
        runner: ProjectRunner,
        project: Project,
        commands: tuple[Argv, ...],
        venv: bool,
        reporter: InstallReporter,
    ) -> RunOutput | None:
        async with runner.timer.phase("install", project.install_root):
            for argv in commands:
                env = install_env(project, venv)
                failed = await runner.install_step(
                    argv, project.install_root, env, tap=reporter.count
                )
                if failed is not None:
                    return failed
        return None

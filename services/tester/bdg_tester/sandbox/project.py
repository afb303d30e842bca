"""One project's steps in a sandbox workspace: scaffold, install, test, read back and parse."""

from __future__ import annotations

import logging
import posixpath
import shlex
from collections.abc import Callable, Mapping

from bdg_contracts.sandbox import Exited
from bdg_sandbox.client import SandboxClient
from bdg_tester.analysis.model import Phase, RunOutput
from bdg_tester.analysis.verdict import ProjectOutcome, after_run
from bdg_tester.detection.detect import detect_projects
from bdg_tester.detection.projects import Argv, Outputs, Project, ResultsFormat
from bdg_tester.detection.tree import Tree, is_manifest, is_under
from bdg_tester.results.coverage import CoverageReport, parse_coverage
from bdg_tester.results.outcomes import ParseError, TestReport
from bdg_tester.results.parse import parse_results
from bdg_tester.sandbox.env import cwd, run_env
from bdg_tester.sandbox.files import WorkspaceFiles
from bdg_tester.sandbox.progress import TAIL_BYTES, Output, PhaseTimer
from bdg_tester.scaffolding.scaffold import ScaffoldError, scaffold_tests
from bdg_tester.settings import TesterSettings

Tap = Callable[[str, bytes], None]  # also sees a command's output as it comes
log = logging.getLogger("bdg_tester.runner")
REPORT_TIMEOUT_S = 120.0
MAX_SOURCES = 400  # files read to scaffold one project
_SOURCES = (".py", ".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs")


def label(project: Project) -> str:
    return f"{project.root} ({project.kind.value})"


Written = dict[str, tuple[str | None, str]]  # path -> (content before or None, content after)


async def scaffold_missing(
    files: WorkspaceFiles,
    projects: list[Project],
    tree: dict[str, str],
    notes: list[str],
    written: Written,
) -> tuple[list[Project], dict[str, str]]:
    """Write smoke tests into the workspace for each project without tests (or without a way
    to run them); `notes` says what was written, or why a project is left out; `written`
    gets each file written, with what it held before, for the job's change."""
    tree = dict(tree)
    for project in [p for p in projects if not p.has_tests or not p.test]:
        wanted = [
            p
            for p in tree
            if is_under(p, project.root)
            and (is_manifest(p) or (p.endswith(_SOURCES) and not tree[p]))
        ]
        tree.update(await files.read_many(sorted(wanted)[:MAX_SOURCES]))
        try:
            scaffold = scaffold_tests(project, tree)
        except ScaffoldError as error:
            notes.append(f"{label(project)} has no tests to run; none scaffolded: {error}")
            continue
        for path, content in sorted(scaffold.files.items()):
            if path not in written:  # a second scaffold of one file keeps the first "before"
                written[path] = (await files.read_text(path) if path in tree else None, "")
            written[path] = (written[path][0], content)
            await files.write_text(path, content)
            tree[path] = content
        notes += [f"scaffolded in {label(project)}: {edit}" for edit in scaffold.edits]
    again = detect_projects(tree)
    for project in again:
        if (not project.has_tests or not project.test) and not any(
            label(project) in note for note in notes
        ):
            notes.append(f"{label(project)} has no tests to run")
    return again, tree


def exit_code(exited: Exited) -> int:
    return exited.code if exited.code is not None else 128 + (exited.signal or 9)


def killed(exited: Exited, settings: TesterSettings) -> str:
    if exited.oom:
        return (
            f"\n[bdg] out of memory: the sandbox killed the run at {settings.bdg_test_memory_mb} MB"
        )
    if exited.timed_out:
        return "\n[bdg] timed out: the sandbox killed the run at its time limit"
    return ""


class ProjectRunner:
    def __init__(
        self,
        client: SandboxClient,
        settings: TesterSettings,
        tenant: str,
        workspace: str,
        files: WorkspaceFiles,
        timer: PhaseTimer,
    ) -> None:
        self.client, self.settings = client, settings
        self.tenant, self.workspace = tenant, workspace
        self.files, self.timer = files, timer

    async def execute(
        self,
        argv: Argv,
        where: str,
        env: Mapping[str, str],
        *,
        network: str,
        timeout: float,
        keep: int = TAIL_BYTES,
        cache: bool = False,
        tap: Tap | None = None,
    ) -> tuple[Exited, Output]:
        out = Output(log, f"{self.workspace} {where} {argv[0]}", keep)

        def seen(stream: str, data: bytes) -> None:
            out(stream, data)
            if tap is not None:
                tap(stream, data)

        result = await self.client.exec(
            self.tenant,
            self.workspace,
            list(argv),
            on_output=seen,
            keep_output=0,
            cwd=cwd(where),
            env=dict(env),
            limits=self.settings.limits(timeout),
            network=network,
            cache=cache,
        )
        return result.exited, out

    async def install_step(
        self,
        argv: Argv,
        where: str,
        env: Mapping[str, str],
        network: str = "registry",
        cache: bool = True,
        tap: Tap | None = None,
    ) -> RunOutput | None:
        """None when the command succeeded; else what it left, as a failed install. ``cache``:
        with the tenant's package cache at /cache (install_env points the downloads there)."""
        timeout = self.settings.bdg_test_install_timeout_seconds
        exited, out = await self.execute(
            argv, where, env, network=network, timeout=timeout, cache=cache, tap=tap
        )
        if exited.code == 0:
            return None
        return RunOutput(
            stdout=f"$ (cd {cwd(where)} && {shlex.join(argv)})\n" + out.text("stdout"),
            stderr=out.text("stderr") + killed(exited, self.settings),
            exit_code=exit_code(exited),
            timed_out=exited.timed_out,
            phase=Phase.install,
        )

    def project_files(self, project: Project, tree: Mapping[str, str]) -> list[str]:
        return list(Tree(tree).under(project.root))

    async def test(
        self, project: Project, venv: bool, files: list[str], budget: int
    ) -> ProjectOutcome:
        env = run_env(project, venv)
        from_stdout = (
            project.results_glob is None and project.results_format is not ResultsFormat.none
        )
        async with self.timer.phase("test", project.root):
            await self._report_directory(project)
            timeout = self.settings.bdg_test_run_timeout_seconds
            keep = 32 * TAIL_BYTES if from_stdout else TAIL_BYTES
            exited, out = await self.execute(
                project.test, project.root, env, network="none", timeout=timeout, keep=keep
            )
            for argv in project.report:  # coverage export, whatever the tests' exit code
                done, _ = await self.execute(
                    argv, project.root, env, network="none", timeout=REPORT_TIMEOUT_S
                )
                if done.code != 0:
                    log.info("%s: report command %s exited %s", self.workspace, argv, done.code)
        async with self.timer.phase("parse", project.root):
            report, parse_error = await self._report(project, out)
            coverage = await self._coverage(project)
        run = RunOutput(
            report=report,
            stdout=out.text("stdout")[-TAIL_BYTES:],
            stderr=out.text("stderr") + killed(exited, self.settings),
            exit_code=exit_code(exited),
            timed_out=exited.timed_out,
            phase=Phase.test,
            parse_error=parse_error,
            root=cwd(project.root),
        )
        return after_run(project, run, coverage, files, budget)

    async def _report_directory(self, project: Project) -> None:
        """node --test writes its report but does not make the report's directory."""
        glob = project.results_glob
        if glob and glob.startswith(f"{Outputs.results_dir}/") and "*" not in glob:
            await self.files.write_text(f"{posixpath.dirname(glob)}/.keep", "")

    async def _report(self, project: Project, out: Output) -> tuple[TestReport | None, str]:
        fmt = project.results_format
        if fmt is ResultsFormat.none:
            return None, f"{project.framework.value} writes no machine-readable results"
        if project.results_glob is None:
            documents = [out.text("stdout")]
        else:
            documents = await self.files.documents(project.results_glob)
            if not documents:
                return None, f"no results file at {project.results_glob}"
        try:
            return parse_results(fmt, documents, root=cwd(project.root)), ""
        except ParseError as error:
            return None, str(error)

    async def _coverage(self, project: Project) -> CoverageReport | None:
        if project.coverage_format is None or project.coverage_path is None:
            return None
        text = await self.files.read_text(project.coverage_path)
        if not text.strip():
            return None
        try:
            return parse_coverage(project.coverage_format, text, root=cwd(project.root))
        except ParseError as error:
            log.info("%s: coverage report unreadable: %s", self.workspace, error)
            return None

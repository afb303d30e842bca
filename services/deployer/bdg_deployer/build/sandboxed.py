"""A site's build in sandboxd: the job's change in a fresh workspace, npm with registry-only
egress and the tenant's package cache, then the built folder copied out for the artifact store.

The repository is untrusted: its build runs only in the sandbox; what comes out is files read
through the sandbox's workspace API (no symlinks, no paths outside the output folder).
"""

from __future__ import annotations

import shlex
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bdg_contracts.sandbox import Limits
from bdg_deployer.build.detect import (
    Argv,
    BuildDetectionError,
    BuildPlan,
    detect_site,
    output_folder,
)
from bdg_sandbox.client import SandboxClient, SandboxRequestError

WORKSPACE = "/workspace"
OUTPUT_TAIL = 16_000
BUILD_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "CI": "true",
    "HOME": f"{WORKSPACE}/.bdg-home",
    "npm_config_cache": "/cache/npm",  # the tenant's package cache, mounted by sandboxd
    "npm_config_prefer_offline": "true",
    "npm_config_update_notifier": "false",
    "npm_config_fund": "false",
    "npm_config_audit": "false",
}


@dataclass(frozen=True)
class Source:
    """The job's change: the repository at a commit, and its patches in order."""

    repo: str
    commit: str
    patches: tuple[str, ...] = ()


@dataclass(frozen=True)
class BuildOutcome:
    plan: BuildPlan | None  # None: the repository is no site
    folder: Path | None = None  # the built site, copied out; None when the build failed
    output: str = ""  # the commands and what they said, the tail, for a failure's analysis


class SandboxBuilder:
    def __init__(self, client: SandboxClient, limits: Limits | None = None) -> None:
        self.client = client
        self.limits = limits or Limits(memory_mb=1024, pids=1024, tmp_mb=512, timeout_s=600)

    async def build(self, tenant: str, source: Source, into: Path) -> BuildOutcome:
        workspace = f"build-{uuid.uuid4().hex[:16]}"
        await self.client.create_workspace(
            tenant, workspace, source.repo, source.commit, list(source.patches)
        )
        try:
            return await self._build(tenant, workspace, into)
        finally:
            await self.client.drop_workspace(tenant, workspace)

    async def _build(self, tenant: str, workspace: str, into: Path) -> BuildOutcome:
        paths = await self._paths(tenant, workspace, ".")
        package = None
        if "package.json" in paths:
            package = (await self.client.read_file(tenant, workspace, "package.json")).decode(
                "utf-8", "replace"
            )
        try:
            plan = detect_site(paths, package)
        except BuildDetectionError as error:
            return BuildOutcome(BuildPlan("npm run build", ()), None, str(error))
        if plan is None:
            return BuildOutcome(None)
        log: list[str] = []
        for argv, network in ((plan.install, "registry"), (plan.build, "none")):
            if argv is not None and not await self._run(tenant, workspace, argv, network, log):
                return BuildOutcome(plan, None, "".join(log)[-OUTPUT_TAIL:])
        if plan.build is not None:
            paths = set()
            for folder in plan.outputs:
                paths |= await self._paths(tenant, workspace, folder)
        found = output_folder(plan, paths)
        if found is None:
            wanted = ", ".join(f"{f}/index.html" for f in plan.outputs)
            log.append(f"[bdg] the build wrote none of {wanted}\n")
            return BuildOutcome(plan, None, "".join(log)[-OUTPUT_TAIL:])
        await self._copy_out(tenant, workspace, found, paths, into)
        return BuildOutcome(plan, into, "".join(log)[-OUTPUT_TAIL:])

    async def _run(
        self, tenant: str, workspace: str, argv: Argv, network: str, log: list[str]
    ) -> bool:
        # Only the install reaches the registries (and the cache); the build itself is offline.
        result = await self.client.exec(
            tenant,
            workspace,
            list(argv),
            env=BUILD_ENV,
            limits=self.limits,
            network=network,
            cache=network == "registry",
        )
        exited = result.exited
        log.append(f"$ {shlex.join(argv)}\n")
        log.append(result.stdout.decode("utf-8", "replace"))
        log.append(result.stderr.decode("utf-8", "replace"))
        if exited.timed_out:
            log.append("[bdg] timed out: the sandbox killed the build at its time limit\n")
        if exited.oom:
            log.append(f"[bdg] out of memory at {self.limits.memory_mb} MB\n")
        if exited.code != 0:
            log.append(f"[bdg] exited with code {exited.code}\n")
        return exited.code == 0

    async def _paths(self, tenant: str, workspace: str, folder: str) -> set[str]:
        try:
            entries = await self.client.list_files(tenant, workspace, folder or ".")
        except SandboxRequestError as error:
            if error.code == "not_found":
                return set()
            raise
        return {e.path for e in entries if not e.is_dir and not e.path.startswith("node_modules/")}

    async def _copy_out(
        self, tenant: str, workspace: str, folder: str, paths: Sequence[str] | set[str], into: Path
    ) -> None:
        prefix = f"{folder}/" if folder else ""
        for path in sorted(p for p in paths if p.startswith(prefix)):
            relative = PurePosixPath(path[len(prefix) :])
            if ".." in relative.parts or relative.is_absolute():
                continue  # the workspace API gives none; never write outside ``into``
            target = into.joinpath(*relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(await self.client.read_file(tenant, workspace, path))

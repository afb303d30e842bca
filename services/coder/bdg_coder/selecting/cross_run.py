"""The cross-check's I/O (``cross_check`` decides): the visible tests run in scratch workspaces
built from the attempt's recipe plus some candidates' parts: each candidate's tests alone on the
base (are they proven?), then each candidate's code with each proven test set.

Every run goes through the coder's recorded tool path under a scope named by its inputs'
digest, so a redelivered step reads the results back and a replay runs nothing; the scratch
workspace is dropped as soon as its run is recorded.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import replace

from bdg_coder.attempt_run import AttemptRun
from bdg_coder.selecting.cross_check import Agreement, Parts, agreements, parts_of
from bdg_coder.selecting.ranking import Tried
from bdg_coder.workspace import AbstractWorkspaces
from bdg_runtime.reactions import StepError
from bdg_tools.catalog import RUN_TESTS, TestRun

log = logging.getLogger(__name__)


class CrossRun:
    def __init__(
        self, workspaces: AbstractWorkspaces, first: AttemptRun, argv: tuple[str, ...]
    ) -> None:
        self.workspaces, self.first, self.argv = workspaces, first, argv
        self.known: dict[str, bool | None] = {}  # a run's name -> its result, once run

    async def proven_pass(self, tried: Tried) -> bool:
        """The candidate's visible tests pass and its own tests fail on the base: a change the
        tester will take, so no further candidate need be sampled."""
        if tried.tests is None or not tried.tests.passed:
            return False
        tests = parts_of(tried.patch).tests
        return bool(tests) and await self._passes(f"b{tried.index}", tests) is False

    async def agreements(
        self, tried: Sequence[Tried]
    ) -> tuple[dict[int, Parts], dict[int, Agreement]]:
        parts = {t.index: parts_of(t.patch) for t in tried}
        proven = []
        for j, part in parts.items():
            if part.tests and await self._passes(f"b{j}", part.tests) is False:
                proven.append(j)
        coded = [i for i, part in parts.items() if part.code]
        passes: dict[tuple[int, int], bool] = {}
        if proven:
            for i in coded:
                for j in proven:
                    ran = await self._passes(f"{i}t{j}", parts[i].code, parts[j].tests)
                    passes[(i, j)] = ran is True
        return parts, agreements(coded, proven, passes)

    async def _passes(self, name: str, *patches: str) -> bool | None:
        """The visible tests on the base plus ``patches``: passed, failed, or None when they
        could not be run (the workspace would not build, the runner's answer is unreadable)."""
        if name in self.known:
            return self.known[name]
        self.known[name] = result = await self._run(name, patches)
        return result

    async def _run(self, name: str, patches: tuple[str, ...]) -> bool | None:
        ctx = self.first.ctx
        digest = hashlib.sha256("\0".join(patches).encode()).hexdigest()[:16]
        workspace = f"{ctx.workspace}-x{name}"
        recipe = self.first.task.recipe
        recipe = replace(recipe, patches=recipe.patches + patches)
        try:
            await self.workspaces.prepare(ctx.tenant_id, workspace, recipe)
        except StepError as error:  # e.g. a patch that does not apply: this pair says nothing
            log.info("cross-check %s: %s", workspace, error)
            return None
        try:
            scope = f"{self.first.prefix}-x{name}-{digest}"
            arguments = json.dumps({"path": None, "argv": list(self.argv)})
            there = replace(ctx, workspace=workspace, scope=scope)
            outcome = await self.first.internal.call(there, RUN_TESTS.name, arguments)
        finally:
            await self.workspaces.drop(ctx.tenant_id, workspace)
        try:
            return TestRun.model_validate_json(outcome.content).passed
        except ValueError:
            return None

"""What the scenario keeps of a run, under ``BDG_HOME/scenario/<job id>/``: the plan as
approved (plan.md), the final change (change.diff: the job's patches in order), the passing
browser check's screenshot (screenshot.png) and the preview's Lighthouse report
(lighthouse.json)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from bdg_cli.demo_run import Outcome
from bdg_contracts import events as ev
from bdg_runtime.lighthouse import Scores


def keep(outcome: Outcome, folder: Path, screenshots: Path, scores: Scores | None) -> list[Path]:
    """Write the run's artifacts into ``folder``; the files written."""
    assert outcome.job is not None
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    plan = folder / "plan.md"
    plan.write_text(outcome.job.plan_markdown)
    written.append(plan)
    diff = folder / "change.diff"
    diff.write_text("".join(e.patch for e in outcome.history if isinstance(e, ev.FilesChanged)))
    written.append(diff)
    passed = [e for e in outcome.history if isinstance(e, ev.TestsPassed)]
    digest = passed[-1].results.screenshot if passed else ""
    if digest and (screenshots / f"{digest}.png").is_file():
        shutil.copyfile(screenshots / f"{digest}.png", folder / "screenshot.png")
        written.append(folder / "screenshot.png")
    if scores is not None:
        (folder / "lighthouse.json").write_text(json.dumps(scores.report))
        written.append(folder / "lighthouse.json")
    return written

"""The gate a site's preview passes before its deploy is offered: Lighthouse's four categories
(``bdg_runtime.lighthouse``: the npm package of web/ in Debian's Chromium) each at least the
operator's bar (``BDG_PREVIEW_MIN_SCORE``).

The whole report is kept beside the edge's state, one file per release
(``BDG_HOME/artifacts/lighthouse/<release>.json``), so a failed gate can be read in full; the
job records the scores alone (``PreviewMeasured``).
"""

from __future__ import annotations

import abc
import asyncio
import json
import os
from pathlib import Path

from bdg_runtime.lighthouse import LighthouseError, measure, scores_of
from bdg_runtime.reactions import StepError


class PreviewCheckError(StepError):
    """The preview could not be measured (Lighthouse missing, or it could not load the page)."""


class AbstractPreviewCheck(abc.ABC):
    bar: int

    @abc.abstractmethod
    async def scores(self, release: str, url: str) -> dict[str, int]:
        """Category -> 0..100 for the page at ``url`` (release ``release``'s preview)."""


class LighthouseCheck(AbstractPreviewCheck):
    def __init__(self, bar: int, reports: Path, timeout: float = 300) -> None:
        self.bar, self.reports, self.timeout = bar, reports, timeout

    async def scores(self, release: str, url: str) -> dict[str, int]:
        kept = await asyncio.to_thread(self._kept, release)
        if kept is not None:
            return kept  # a redelivered step: this release was measured before the crash
        try:
            measured = await asyncio.to_thread(measure, url, self.timeout)
        except LighthouseError as error:
            raise PreviewCheckError(f"the preview {url} could not be measured: {error}") from error
        await asyncio.to_thread(self._keep, release, measured.report)
        return dict(measured.by_category)

    def _kept(self, release: str) -> dict[str, int] | None:
        """The scores of the report kept for ``release``; None when there is none (a release
        is immutable, so its report stays true; a kept file is whole: see ``_keep``)."""
        try:
            return scores_of(json.loads((self.reports / f"{release}.json").read_bytes()))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            return None  # not a report we wrote: measure again, and overwrite it

    def _keep(self, release: str, report: dict[str, object]) -> None:
        self.reports.mkdir(parents=True, exist_ok=True)
        aside = self.reports / f".{release}.json.{os.getpid()}"
        aside.write_text(json.dumps(report))
        os.replace(aside, self.reports / f"{release}.json")  # never a torn report to reuse

"""What the sites API shows of a site and its releases, folded from the site's events (pure).

State (stable, canary, promoted, rolled back) is the ``Site`` aggregate's own, evolved by its
``apply``: the read side can never disagree with the rules. What the aggregate does not keep is
added here: each release's latest figures (the edge's cumulative counts in ``CanaryStarted``,
``CanaryObserved`` and ``CanaryAdvanced``), its creation time, failure and the reason of its
last promotion or rollback. The JSON shapes are the contract in the README (sites API).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from bdg_contracts import release_events as rv
from bdg_contracts.base import Event
from bdg_jobs.sites import Site


@dataclass
class Figures:
    requests: int = 0
    errors: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None


@dataclass
class SiteView:
    site: Site
    figures: dict[str, Figures] = field(default_factory=dict)
    created: dict[str, datetime] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    reasons: dict[str, str] = field(default_factory=dict)
    updated_at: datetime | None = None

    @classmethod
    def of(cls, history: list[Event]) -> SiteView:
        view = cls(Site.replay(history[:1]))
        for event in history[1:]:
            view.apply(event)
        view.updated_at = history[-1].occurred_at
        view._note(history[0])
        return view

    def apply(self, event: Event) -> None:
        self.site.apply(event)
        self.updated_at = event.occurred_at
        self._note(event)

    # -- the JSON of the contract -----------------------------------------------------------
    def site_json(self) -> dict[str, Any]:
        site, canary = self.site, self.site.canary
        return {
            "id": str(site.site_id),
            "repo": site.repo,
            "target": site.target,
            "production_url": self.production_url(),
            "stable": site.stable,
            "canary": None
            if canary is None
            else {
                "release": canary.release,
                "percent": canary.percent,
                "stage": canary.stage + 1,  # 1 to stages: "stage 1 of 3"
                "stages": len(canary.stages),
            },
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }

    def releases_json(self) -> list[dict[str, Any]]:
        """Newest first."""
        names = sorted(self.site.releases, key=lambda n: self.created[n], reverse=True)
        return [self.release_json(name) for name in names]

    def release_json(self, name: str) -> dict[str, Any]:
        release, figures = self.site.releases[name], self.figures.get(name, Figures())
        rate = figures.errors / figures.requests if figures.requests else 0.0
        return {
            "id": name,
            "state": self.state_of(name),
            "traffic_percent": self.traffic_of(name),
            "requests": figures.requests,
            "errors": figures.errors,
            "error_rate": rate,
            "p50_ms": figures.p50_ms,
            "p95_ms": figures.p95_ms,
            "digest": f"sha256:{release.digest}",
            "preview_url": release.preview_url,
            "created_at": self.created[name].isoformat(),
            "job_id": str(job) if (job := self.job_of(name)) else None,
            "reason": self.reasons.get(name),
        }

    def job_of(self, name: str) -> UUID | None:
        return self.site.builds[self.site.releases[name].build].source_job

    def state_of(self, name: str) -> str:
        site = self.site
        if site.canary is not None and site.canary.release == name:
            return "canary"
        if site.stable == name:
            return "stable"
        if name in site.rolled_back:
            return "rolled_back"
        if name in site.promoted:
            return "promoted_before"
        return "failed" if name in self.failed else "preview"

    def traffic_of(self, name: str) -> float:
        site = self.site
        share = site.canary.percent if site.canary is not None else 0.0
        if site.canary is not None and site.canary.release == name:
            return share
        return 100.0 - share if site.stable == name else 0.0

    def production_url(self) -> str | None:
        """The local provider serves a release at ``http://<release>.<site host>`` and the site
        at ``http://<site host>``: the stable release's preview URL without its first label."""
        stable = self.site.stable
        if stable is None:
            return None
        url = self.site.releases[stable].preview_url
        scheme, sep, rest = url.partition("://")
        label, dot, host = rest.partition(".")
        return f"{scheme}{sep}{host}" if sep and dot and label == stable else url

    # -- what the aggregate does not keep ---------------------------------------------------
    def _counts(self, counts: rv.ReleaseCounts | None) -> None:
        if counts is not None:
            self.figures[counts.release] = Figures(
                counts.requests, counts.errors, counts.p50_ms, counts.p95_ms
            )

    @singledispatchmethod
    def _note(self, event: Event) -> None:
        """Nothing beyond the aggregate's state."""

    @_note.register
    def _(self, event: rv.ReleaseCreated) -> None:
        self.created[event.release] = event.occurred_at

    @_note.register
    def _(self, event: rv.CanaryStarted) -> None:
        self._counts(event.canary_counts)
        self._counts(event.stable_counts)

    @_note.register
    def _(self, event: rv.CanaryObserved) -> None:
        self._counts(event.canary)
        self._counts(event.stable)

    @_note.register
    def _(self, event: rv.CanaryAdvanced) -> None:
        self._counts(event.canary)
        self._counts(event.stable)

    @_note.register
    def _(self, event: rv.ReleasePromoted) -> None:
        self.reasons[event.release] = describe(event.reason)

    @_note.register
    def _(self, event: rv.ReleaseRolledBack) -> None:
        self.reasons[event.release] = describe(event.reason)

    @_note.register
    def _(self, event: rv.DeployFailed) -> None:
        if event.release is not None:
            self.failed.add(event.release)
            self.reasons[event.release] = f"{event.provider}: {event.message}"


def describe(reason: rv.AutomaticReason | rv.ManualReason) -> str:
    if isinstance(reason, rv.ManualReason):
        return f"manual, by {reason.by}" + (f": {reason.note}" if reason.note else "")
    f = reason.figures
    rate = f.canary_errors / f.canary_requests if f.canary_requests else 0.0
    return (
        f"automatic: {f.canary_errors} error(s) in {f.canary_requests} request(s) "
        f"({rate:.2%}; threshold {f.threshold:.2%}), log-likelihood ratio {f.llr:.2f} "
        f"(bounds {f.lower:.2f}, {f.upper:.2f})"
    )

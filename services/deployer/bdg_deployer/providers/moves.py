"""What a provider must do after a site's decision: a pure diff of who serves, before and after.

The site's events are the truth; a cloud provider's traffic follows them. After each decision
the deployer compares the site's traffic before and after and asks the provider of the release
concerned for exactly that move: a canary started or advanced, a canary completed (promoted) or
ended (its stable serves again), a release promoted, or production rolled back to a release
that served it before (the provider's instant rollback).
"""

from __future__ import annotations

from dataclasses import dataclass

from bdg_jobs.sites import Site


@dataclass(frozen=True)
class Traffic:
    stable: str | None
    canary: str | None
    stage: int
    served: frozenset[str]  # releases that have served production

    @classmethod
    def of(cls, site: Site) -> Traffic:
        canary = site.canary
        return cls(
            site.stable,
            canary.release if canary else None,
            canary.stage if canary else 0,
            frozenset(site.promoted),
        )


@dataclass(frozen=True)
class StartCanary:
    release: str


@dataclass(frozen=True)
class AdvanceCanary:
    release: str
    stage: int


@dataclass(frozen=True)
class Promote:
    release: str
    canary: bool = False  # completes the release's running canary


@dataclass(frozen=True)
class RollBack:
    to_release: str


Move = StartCanary | AdvanceCanary | Promote | RollBack


def moves(before: Traffic, after: Traffic) -> list[Move]:
    if after.canary is not None and after.canary != before.canary:
        return [StartCanary(after.canary)]
    if after.canary is not None:
        return [AdvanceCanary(after.canary, after.stage)] if after.stage > before.stage else []
    if before.canary is not None and after.stable == before.canary:
        return [Promote(before.canary, canary=True)]
    if before.canary is not None:  # the canary was taken out: its stable serves alone
        return [RollBack(after.stable)] if after.stable is not None else []
    if after.stable is None or after.stable == before.stable:
        return []
    if after.stable in before.served:
        return [RollBack(after.stable)]
    return [Promote(after.stable)]

"""After a site's decision, its providers' traffic follows the events (see ``moves.py``).

Each move goes to the provider of the release it concerns, with that release's deployment id:
a site whose releases were made on one provider stays on it; the local edge's calls are no-ops
(its route table is written from the same events).
"""

from __future__ import annotations

from bdg_deployer.providers.choose import ProviderChoice
from bdg_deployer.providers.moves import (
    AdvanceCanary,
    Move,
    Promote,
    RollBack,
    StartCanary,
    Traffic,
    moves,
)
from bdg_jobs.sites import Site


def release_of(move: Move) -> str:
    return move.to_release if isinstance(move, RollBack) else move.release


async def follow(choice: ProviderChoice, tenant: str, site: Site, before: Traffic) -> None:
    """Raises ``ProviderError`` or ``ProviderConfigError`` when a provider refuses."""
    for move in moves(before, Traffic.of(site)):
        release = site.releases[release_of(move)]
        target = await choice.named(tenant, release.provider)
        deployment = release.deployment_id or release.name
        if isinstance(move, StartCanary):
            assert site.canary is not None
            await target.start_canary(deployment, site.canary.stages)
        elif isinstance(move, AdvanceCanary):
            await target.advance_canary(deployment, move.stage)
        elif isinstance(move, Promote):
            await target.promote(deployment, canary=move.canary)
        else:
            await target.roll_back(deployment)


async def settle(choice: ProviderChoice, tenant: str, site: Site) -> bool:
    """Make the provider serve what the events name: what a move refused or lost (a deployer
    killed between the event and the call) left behind. True when it had to move.

    Each move is decided from what the provider says it runs now, so settling twice (two
    restarts, a settled move that had reached the provider after all) moves nothing more: a
    canary is never completed twice, and a rollback the crash cut off is still made."""
    if site.stable is None:
        return False
    if site.canary is not None:
        return await _settle_canary(choice, tenant, site)
    stable = site.releases[site.stable]
    target = await choice.named(tenant, stable.provider)
    wanted = stable.deployment_id or stable.name
    running = await target.canary_now()
    if running is not None:  # the events ended it; the provider did not hear
        if running.deployment_id == wanted:
            await target.promote(wanted, canary=True)  # a promotion: complete it, once
        else:
            await target.roll_back(wanted)  # a rollback: production is the stable alone
        return True
    now = await target.serving()
    if now is None or now == wanted:
        return False
    await target.promote(wanted)  # no rebuild: the deployment exists
    return True


async def _settle_canary(choice: ProviderChoice, tenant: str, site: Site) -> bool:
    """The canary the events run, at their stage: started if the provider runs none (or
    another), advanced stage by stage to where the events are."""
    canary = site.canary
    assert canary is not None
    release = site.releases[canary.release]
    target = await choice.named(tenant, release.provider)
    if target is choice.local or not target.capabilities.canary:
        return False  # the edge's canary is its route table, written from the events
    wanted = release.deployment_id or release.name
    running = await target.canary_now()
    at, moved = (running.stage, False) if running and running.deployment_id == wanted else (0, True)
    if moved:
        await target.start_canary(wanted, canary.stages)
    for stage in range(at + 1, canary.stage + 1):
        await target.advance_canary(wanted, stage)
        moved = True
    return moved

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
    """Make the provider serve the stable release the events name, when no canary runs: what a
    move refused or lost (a deployer killed between the event and the call) left behind. True
    when it had to move. A running canary is left to the watch."""
    if site.canary is not None or site.stable is None:
        return False
    stable = site.releases[site.stable]
    target = await choice.named(tenant, stable.provider)
    wanted = stable.deployment_id or stable.name
    now = await target.serving()
    if now is None or now == wanted:
        return False
    await target.promote(wanted)  # no rebuild: the deployment exists
    return True

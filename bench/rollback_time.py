"""Time from the moment a canary starts failing to the rollback taking effect, at 50 req/s.

A site on the edge (its own process) with a stable release and a canary at one stage of
``--percent`` (default 10%), the deployer's canary watch running as in the service (a turn
every 2 s). Load: ``--rate`` new visitors a second to the production URL. After ``--warm``
seconds the canary starts failing: every page it serves reports a client error to the edge's
beacon (``window.onerror`` of a broken build). A probe visitor whose cookie puts it in the
canary asks every 10 ms which release it gets; the rollback has taken effect when it gets the
stable one. Printed beside: the watch's turn (the decision can wait that long), the statistical
floor (the errors Wald's test needs at the canary's request rate), and a bare request through
the edge.

    uv run python -m bench.rollback_time [--rate 50] [--percent 10] [--trials 3]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import tempfile
import time
from pathlib import Path
from uuid import UUID

import httpx

from bdg_contracts import release_events as rv
from bdg_deployer.canary_policy import CanaryPolicy
from bdg_deployer.canary_watch import INTERVAL_S, watch_canaries
from bdg_deployer.edge.app import RELEASE_HEADER, VISITOR_COOKIE
from bdg_deployer.site_routes import site_label
from bdg_jobs.aggregate import Cause
from bdg_jobs.application import utc_now
from bench.site_rig import Rig, bare_http, ms, rig


async def release_of(rig_: Rig, site_id: UUID, text: str) -> str:
    folder = Path(tempfile.mkdtemp(prefix="bdg-bench-site-", dir=rig_.home))
    (folder / "index.html").write_text(text)
    build = await rig_.releasing.store_build("bench", site_id, folder, "static", None)
    return await rig_.releasing.release("bench", site_id, build)


async def trial(rig_: Rig, rate: float, warm: float) -> tuple[float, float]:
    """(seconds to the decision, seconds to the effect) after the errors start."""
    releasing = rig_.releasing
    cause = Cause("bench", utc_now(), None)
    site = await releasing.sites.ensure("bench", cause, f"/bench/{time.time_ns()}", "production")
    stable = await release_of(rig_, site.site_id, "<h1>stable</h1>\n")
    await releasing.roll_out("bench", site.site_id, stable)
    canary = await release_of(rig_, site.site_id, "<h1>canary</h1>\n")
    await releasing.roll_out("bench", site.site_id, canary)
    host = f"{site_label(await releasing.sites.get('bench', site.site_id))}.localhost"
    failing = asyncio.Event()
    stop = asyncio.Event()
    started = effect = 0.0

    async def load() -> None:
        async with httpx.AsyncClient(base_url=rig_.edge_url) as http:
            tick = 1 / rate
            next_at = time.perf_counter()
            while not stop.is_set():
                answer = await http.get("/", headers={"host": host})
                http.cookies.clear()  # a new visitor each time
                if failing.is_set() and answer.headers.get(RELEASE_HEADER) == canary:
                    beacon = {"host": host, RELEASE_HEADER: canary}
                    await http.post("/_bdg/beacon", headers=beacon)
                next_at += tick
                await asyncio.sleep(max(next_at - time.perf_counter(), 0))

    async def probe() -> None:
        nonlocal effect
        cookies = {VISITOR_COOKIE: "0"}  # bucket 0: in the canary at any share
        async with httpx.AsyncClient(base_url=rig_.edge_url, cookies=cookies) as http:
            while True:
                answer = await http.get("/", headers={"host": host})
                if failing.is_set() and answer.headers.get(RELEASE_HEADER) == stable:
                    effect = time.perf_counter()
                    return
                await asyncio.sleep(0.01)

    watch = asyncio.create_task(watch_canaries(releasing, stop))
    loader = asyncio.create_task(load())
    prober = asyncio.create_task(probe())
    await asyncio.sleep(warm)  # healthy traffic first: the stable's rate is known
    started = time.perf_counter()
    failing.set()
    wall = time.time()
    await asyncio.wait_for(prober, 120)
    stop.set()
    await asyncio.gather(watch, loader)
    decided = releasing.sites.store.history(site.site_id)[-1]
    assert isinstance(decided, rv.ReleaseRolledBack), decided.name
    return decided.occurred_at.timestamp() - wall, effect - started


async def measure(rate: float, percent: float, trials: int, warm: float) -> None:
    stage = rv.CanaryStage(percent=percent, min_seconds=3600, min_requests=10**6)
    async with rig((stage,)) as rig_:
        decisions, effects = [], []
        for _ in range(trials):
            decided, took = await trial(rig_, rate, warm)
            decisions.append(decided)
            effects.append(took)
            print(f"trial: decision {decided:.2f} s, effect {took:.2f} s after the errors began")
        policy = CanaryPolicy()
        p0, p1 = policy.threshold / 2, 2 * policy.threshold  # against a clean stable
        needed = math.ceil(math.log(19) / math.log(p1 / p0))
        canary_rate = rate * percent / 100
        http = await bare_http(rig_.edge_url, "none.localhost")
        print(
            f"rollback at {rate:g} req/s, canary {percent:g}%: effect p50 {ms(effects, 50):.0f} ms"
            f" (max {max(effects) * 1000:.0f}), decision p50 {ms(decisions, 50):.0f} ms"
        )
        print(
            f"raw limits: canary watch turn {INTERVAL_S * 1000:.0f} ms; Wald's test needs "
            f"{needed} errors = {needed / canary_rate * 1000:.0f} ms of canary traffic at "
            f"{canary_rate:g} req/s; bare request through the edge p50 {ms(http, 50):.2f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--percent", type=float, default=10)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--warm", type=float, default=5)
    args = parser.parse_args()
    asyncio.run(measure(args.rate, args.percent, args.trials, args.warm))


if __name__ == "__main__":
    main()

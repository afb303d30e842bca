"""The edge's routing overhead: one static file through the edge (host lookup, canary choice,
verified manifest, counting) against the same file straight from disk, in the same run.

"Straight from disk" is the same server stack (uvicorn, Starlette's ``FileResponse``) answering
every request with the file and doing nothing else: the difference is what the edge adds. Both
servers are their own processes; requests are sequential on one keep-alive connection each,
alternating between the two so that machine noise hits both alike.

    uv run python -m bench.edge_overhead [--requests 3000] [--size 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bdg_deployer.artifacts import ArtifactStore
from bdg_deployer.edge.main import state_paths
from bdg_deployer.edge.routes import SiteRoute, update_site
from tests.ports import free_port

DISK_SERVER = """
import sys, uvicorn
from starlette.responses import FileResponse
path = sys.argv[2]
async def app(scope, receive, send):
    await FileResponse(path, media_type="text/html")(scope, receive, send)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def wait_up(client: httpx.AsyncClient, host: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if (await client.get("/", headers={"host": host})).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("a server did not come up")
        await asyncio.sleep(0.1)


async def measure(requests: int, size: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="bdg-edge-bench-"))
    site = home / "site"
    site.mkdir()
    (site / "index.html").write_bytes(os.urandom(size // 2).hex().encode()[:size])
    routes, artifacts = state_paths(home)
    digest = ArtifactStore(artifacts).put(site).digest
    update_site(routes, "bench-1", SiteRoute(stable="r1", releases={"r1": digest}))
    edge_port, disk_port = free_port(), free_port()
    env = {**os.environ, "BDG_HOME": str(home), "BDG_EDGE_PORT": str(edge_port)}
    procs = [  # started once, not awaited
        subprocess.Popen([sys.executable, "-m", "bdg_deployer.edge.main"], env=env),  # noqa: ASYNC220
        subprocess.Popen(  # noqa: ASYNC220
            [sys.executable, "-c", DISK_SERVER, str(disk_port), str(site / "index.html")]
        ),
    ]
    try:
        edge = httpx.AsyncClient(base_url=f"http://127.0.0.1:{edge_port}")
        disk = httpx.AsyncClient(base_url=f"http://127.0.0.1:{disk_port}")
        host = {"host": "bench-1.localhost"}
        await wait_up(edge, "bench-1.localhost")
        await wait_up(disk, "localhost")
        for _ in range(200):  # warm both
            await edge.get("/", headers=host)
            await disk.get("/")
        through: list[float] = []
        straight: list[float] = []
        for _ in range(requests):
            t0 = time.perf_counter()
            answer = await edge.get("/", headers=host)
            t1 = time.perf_counter()
            plain = await disk.get("/")
            t2 = time.perf_counter()
            assert answer.content == plain.content
            through.append((t1 - t0) * 1000)
            straight.append((t2 - t1) * 1000)
        for name, values in (("edge", through), ("disk", straight)):
            print(
                f"{name}: p50 {percentile(values, 50):.3f} ms  p99 {percentile(values, 99):.3f} ms"
                f"  ({len(values)} requests of {size} bytes)"
            )
        print(
            f"overhead: p50 {percentile(through, 50) - percentile(straight, 50):+.3f} ms  "
            f"p99 {percentile(through, 99) - percentile(straight, 99):+.3f} ms"
        )
        await edge.aclose()
        await disk.aclose()
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--size", type=int, default=20_000)
    args = parser.parse_args()
    asyncio.run(measure(args.requests, args.size))


if __name__ == "__main__":
    main()

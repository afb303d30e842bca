"""Start-to-exit latency of `true` in the sandbox, per backend, beside the bare tools.

Measured in one run: plain subprocess, bare `bwrap`, bare `runc run` (a minimal bundle: the
host's /usr read-only), then through sandboxd (client -> daemon -> backend -> exit frame) for
each backend, p50/p99 over --runs; and execs/s with 8 in flight through the daemon.

    uv run python -m bench.sandbox_latency [--runs 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.sandbox.daemon import start_daemon

BWRAP = [
    "bwrap",
    "--ro-bind",
    "/usr",
    "/usr",
    "--symlink",
    "usr/bin",
    "/bin",
    "--symlink",
    "usr/lib",
    "/lib",
    "--symlink",
    "usr/lib64",
    "/lib64",
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--unshare-all",
    "--die-with-parent",
    "/usr/bin/true",
]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def line(name: str, values: list[float]) -> None:
    print(f"{name:<34} p50 {pct(values, 50):7.1f} ms   p99 {pct(values, 99):7.1f} ms")


def timed(run: Callable[[], None], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        out.append(time.perf_counter() - start)
    return out


def runc_bundle(root: Path) -> Path:
    bundle = root / "bundle"
    (bundle / "rootfs" / "usr").mkdir(parents=True)
    for link, target in (("bin", "usr/bin"), ("lib", "usr/lib"), ("lib64", "usr/lib64")):
        (bundle / "rootfs" / link).symlink_to(target)
    subprocess.run(["runc", "spec", "--bundle", str(bundle)], check=True)
    config = json.loads((bundle / "config.json").read_text())
    config["process"]["terminal"] = False
    config["process"]["args"] = ["/usr/bin/true"]
    config["mounts"].append(
        {"destination": "/usr", "type": "bind", "source": "/usr", "options": ["rbind", "ro"]}
    )
    (bundle / "config.json").write_text(json.dumps(config))
    return bundle


async def through_daemon(backend: str, runs: int) -> tuple[list[float], float]:
    daemon = await start_daemon(SANDBOX_BACKEND=backend, SANDBOX_MAX_CONCURRENT="8")
    try:
        async with daemon.client() as client:
            await client.create_workspace("bench", "w")
            await client.exec("bench", "w", ["true"])  # warm up
            latencies = []
            for _ in range(runs):
                start = time.perf_counter()
                result = await client.exec("bench", "w", ["true"])
                latencies.append(time.perf_counter() - start)
                assert result.ok, result
            total = 80
            start = time.perf_counter()
            pending = [client.exec("bench", "w", ["true"]) for _ in range(total)]
            window = asyncio.Semaphore(8)

            async def one(call: object) -> None:
                async with window:
                    await call  # type: ignore[misc]

            await asyncio.gather(*(one(c) for c in pending))
            throughput = total / (time.perf_counter() - start)
    finally:
        daemon.stop()
        daemon.remove()
    return latencies, throughput


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    runs = parser.parse_args().runs
    line("plain subprocess true", timed(lambda: subprocess.run(["true"], check=True), runs))
    line("bare bwrap true", timed(lambda: subprocess.run(BWRAP, check=True), runs))
    with tempfile.TemporaryDirectory() as tmp:
        bundle = runc_bundle(Path(tmp))
        ids = iter(range(10**6))
        line(
            "bare runc run true",
            timed(
                lambda: subprocess.run(
                    ["runc", "run", "--bundle", str(bundle), f"bench-{next(ids)}"],
                    check=True,
                ),
                runs,
            ),
        )
        shutil.rmtree(bundle, ignore_errors=True)
    for backend in ("runc", "bwrap"):
        latencies, throughput = await through_daemon(backend, runs)
        line(f"sandboxd ({backend}) true", latencies)
        print(f"{'':<34} {throughput:7.1f} execs/s with 8 in flight")


if __name__ == "__main__":
    asyncio.run(main())

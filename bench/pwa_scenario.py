"""The scenario's wall time per step, on this machine: `bdg demo --approve` on a fresh embedded
stack (recorded model answers; sandboxd, Chromium, the edge and Lighthouse real).

Printed, also when a score is under 90 (the figures are the point): the time in each job
state (planning, coding, testing, reviewing, the deploy approval, deploying) from the job's
events (reviewing holds the review, the deployer's sandboxed build, the preview's release and
its Lighthouse run: the gate before the approval); the tester's phases (workspace, install,
tests, build and browser check) from its log; Lighthouse's four scores on the preview; the
job's total against the 10-minute bound, and the demo's own wall time (stack start and
Lighthouse included).

The raw limits beside them, measured in the same run: `node -e 0` (what every npm step pays to
start), and the same Lighthouse run on an empty HTML page served from this machine (the best any
page scores here, slow-phone simulation and all). The load average is printed too.

    uv run python -m bench.pwa_scenario
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bdg_runtime.lighthouse import measure
from bench.lighthouse_ui import blank_page
from tests.e2e.test_bdg_up import stop_leftovers
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
BOUND_SECONDS = 600
STATE_ROW = re.compile(r"│\s*([a-z_ ]+?)\s*│\s*([\d.]+)\s*│")
PHASE = re.compile(r"attempt (\d+): (\w+)(?: \S+)? done in ([\d.]+) s")


def node_start() -> float:
    started = time.monotonic()
    subprocess.run(["node", "-e", "0"], check=True)
    return time.monotonic() - started


def run_demo(home: Path, workdir: Path) -> tuple[str, float]:
    drop = ("DATABASE_URL", "NATS_URL", "JWT_SECRET", "BDG_HOME")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("OPENAI_")}
    env |= {
        "GATEWAY_PORT": str(free_port()),
        "BDG_EDGE_PORT": str(free_port()),
        "AGENT_SANDBOX_ENDPOINT": f"unix://{workdir}/sandbox.sock",
        "BDG_LOG_FORMAT": "text",
        "COLUMNS": "200",
    }
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "bdg_cli.main", "demo", "--approve", "--home", str(home)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    wall = time.monotonic() - started
    if run.returncode != 0 and "Lighthouse performance" not in run.stdout:  # no figures to show
        print(run.stdout[-6000:], run.stderr[-3000:], sep="\n")
        raise SystemExit(f"bdg demo exited {run.returncode}")
    return run.stdout, wall


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-scenario-"))
    os.chmod(workdir, 0o755)  # pgserver's own user must traverse to PGDATA
    home = workdir / "home"
    try:
        load = Path("/proc/loadavg").read_text().split()[:3]
        output, wall = run_demo(home, workdir)
        log = (home / "live-services.log").read_text()
        reports = list((home / "scenario").glob("*/lighthouse.json"))
        metrics = json.loads(reports[0].read_text())["audits"] if reports else {}
        raw_node = node_start()
        with blank_page() as url:
            blank = measure(url)
    finally:
        stop_leftovers(home)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"load average before: {' '.join(load)}; after: {Path('/proc/loadavg').read_text()[:15]}")
    print("job state                    seconds")
    for state, seconds in STATE_ROW.findall(output):
        print(f"  {state:<26} {float(seconds):>7.1f}")
    print("tester phase (attempt)       seconds")
    for attempt, phase, seconds in PHASE.findall(log):
        print(f"  {phase + ' (' + attempt + ')':<26} {float(seconds):>7.1f}")
    scores = re.search(r"Lighthouse (performance .*?) \(each", output)
    print(f"Lighthouse on the preview: {scores[1] if scores else 'not measured'}")
    for audit in ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time"):
        if audit in metrics:
            print(f"  {audit}: {metrics[audit]['numericValue']:.0f} ms")
    print(f"  raw limit, an empty page here: {blank.line()}")
    took = re.search(r"done after \d+ events in ([\d.]+) s", output)
    total = float(took[1]) if took else float("nan")
    print(f"job, request to deployed: {total:.1f} s (bound {BOUND_SECONDS} s)")
    print(f"bdg demo wall time (stack start, Lighthouse included): {wall:.1f} s")
    print(f"raw limit: `node -e 0` starts in {raw_node * 1000:.0f} ms")


if __name__ == "__main__":
    main()

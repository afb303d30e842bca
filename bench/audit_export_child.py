"""The export half of bench/audit_bench.py, in a process of its own that imports only what an
export needs, so its peak RSS is the export's: stream the given files into /dev/null.

    python -m bench.audit_export_child ENDPOINT BUCKET < keys (one per line)
Prints ``rows seconds rss_before_mb rss_peak_mb``. The peak is the kernel's high-water mark
of this process's memory (``VmHWM``), not ``getrusage``'s ``ru_maxrss``: Linux carries that over
from the parent the child was spawned from (the bench, a hundred MB) across ``exec``.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, date, datetime

from bdg_audit.export import ExportQuery, export_csv
from bdg_audit.manifest import Recorded
from bdg_audit.settings import AuditSettings
from bdg_audit.store import ObjectStore


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB (Linux: /proc/self/status)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> None:
    endpoint, bucket, first, last = sys.argv[1:5]
    keys = sys.stdin.read().split()
    objects = ObjectStore.connect(endpoint, AuditSettings(bdg_s3_bucket=bucket))
    at = datetime(2026, 12, 5, tzinfo=UTC)
    files = [Recorded(k, "0" * 64, k.rsplit("/", 2)[-2], 1, "bench", at, at) for k in keys]
    query = ExportQuery(date.fromisoformat(first), date.fromisoformat(last))
    before = peak_rss_mb()
    rows, start = 0, time.perf_counter()
    with open(os.devnull, "wb") as sink:
        for chunk in export_csv(objects, files, query):
            sink.write(chunk)
            rows += chunk.count(b"\n")
    seconds = time.perf_counter() - start
    peak = peak_rss_mb()
    print(rows - 1, seconds, before, peak)


if __name__ == "__main__":
    main()

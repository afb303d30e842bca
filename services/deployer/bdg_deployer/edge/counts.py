"""A release's counts at the edge: requests, errors, recent latencies (kept in memory; a
restarted edge starts again at zero, which ``canary_policy.Window`` reads as a restart)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from statistics import quantiles

LATENCIES_KEPT = 2_000


@dataclass
class Counts:
    requests: int = 0
    errors: int = 0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCIES_KEPT))

    def view(self) -> dict[str, float]:
        p50 = p95 = 0.0
        if len(self.latencies_ms) >= 2:
            cuts = quantiles(self.latencies_ms, n=100, method="inclusive")
            p50, p95 = cuts[49], cuts[94]
        return {"requests": self.requests, "errors": self.errors, "p50_ms": p50, "p95_ms": p95}

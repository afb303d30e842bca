"""Which traces are recorded: the SDK's built-in samplers, chosen by the same variables."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bdg_telemetry.spans import Parent, Unsampled

log = logging.getLogger(__name__)


class Sampler:
    """``OTEL_TRACES_SAMPLER`` and ``OTEL_TRACES_SAMPLER_ARG``, the SDK's built-in samplers:
    ``always_on``, ``always_off``, ``traceidratio`` and their ``parentbased_`` forms (the
    default: ``parentbased_always_on``). Parent-based follows the parent's sampled flag."""

    KNOWN = ("always_on", "always_off", "traceidratio")

    def __init__(self, env: Mapping[str, str]) -> None:
        name = env.get("OTEL_TRACES_SAMPLER", "parentbased_always_on").strip().lower()
        root = name.removeprefix("parentbased_")
        if root not in self.KNOWN:
            log.warning("unknown OTEL_TRACES_SAMPLER %r: parentbased_always_on", name)
            name, root = "parentbased_always_on", "always_on"
        self.parent_based = name.startswith("parentbased_")
        rate = 1.0 if root == "always_on" else 0.0
        if root == "traceidratio":
            try:
                rate = float(env.get("OTEL_TRACES_SAMPLER_ARG", ""))
            except ValueError:
                log.warning("OTEL_TRACES_SAMPLER_ARG is not a number: rate 1.0")
                rate = 1.0
            if not 0.0 <= rate <= 1.0:
                log.warning("OTEL_TRACES_SAMPLER_ARG %s is outside [0, 1]: rate 1.0", rate)
                rate = 1.0
        # As the SDK's TraceIdRatioBased: the trace id's low 64 bits below rate * 2**64.
        self.bound = round(rate * (1 << 64))

    def sampled(self, trace_id: int, parent: Unsampled | Parent | None) -> bool:
        if parent is not None and self.parent_based:
            return parent.sampled
        return (trace_id & 0xFFFFFFFFFFFFFFFF) < self.bound

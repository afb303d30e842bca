"""The canary's stages and error threshold, from the operator's settings.

``BDG_CANARY_STAGES``: comma-separated ``percent:min_seconds:min_requests`` stages, shares
strictly increasing below 100 (promotion is the last step), e.g. ``1:60:100,10:60:200,50:60:400``
(the default). ``BDG_CANARY_THRESHOLD``: the error rate over the stable release's that rolls a
canary back (default 0.01). Read and checked when the deployer starts: a bad value stops it with
a message naming the value, instead of a canary that never ends or promotes on one request.
Each ``CanaryStarted`` records the stages and threshold it ran with.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

from pydantic import ValidationError

from bdg_contracts.release_events import CanaryStage
from bdg_deployer.canary_policy import DEFAULT_STAGES, DEFAULT_THRESHOLD

STAGES_ENV = "BDG_CANARY_STAGES"
THRESHOLD_ENV = "BDG_CANARY_THRESHOLD"
MAX_STAGES = 10
MAX_SECONDS = 7 * 86_400
MAX_REQUESTS = 10_000_000
MAX_THRESHOLD = 0.25  # CanaryPolicy's bound: past it the test's rates leave (0, 1)


class CanarySettingsError(ValueError):
    """A setting that cannot describe a canary; the message names the variable and value."""


def _number(text: str, what: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CanarySettingsError(f"{where}: {what} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise CanarySettingsError(f"{where}: {what} {text!r} is not a finite number")
    return value


def _stage(item: str, where: str) -> CanaryStage:
    parts = item.split(":")
    if len(parts) != 3:
        raise CanarySettingsError(f"{where}: want percent:min_seconds:min_requests")
    percent = _number(parts[0], "percent", where)
    seconds = _number(parts[1], "min_seconds", where)
    requests = parts[2].strip()
    if not 0 < percent < 100:
        raise CanarySettingsError(f"{where}: percent {parts[0]!r} is not in (0, 100)")
    if not 0 <= seconds <= MAX_SECONDS:
        raise CanarySettingsError(f"{where}: min_seconds {parts[1]!r} is not in 0..{MAX_SECONDS}")
    if not requests.isdigit() or int(requests) > MAX_REQUESTS:
        raise CanarySettingsError(
            f"{where}: min_requests {parts[2]!r} is not an integer in 0..{MAX_REQUESTS}"
        )
    try:
        return CanaryStage(percent=percent, min_seconds=seconds, min_requests=int(requests))
    except ValidationError as error:  # the contract's own bounds, should they ever narrow
        raise CanarySettingsError(f"{where}: {error.errors()[0]['msg']}") from None


def parse_stages(raw: str) -> tuple[CanaryStage, ...]:
    items = raw.split(",")
    if not raw.strip() or len(items) > MAX_STAGES:
        raise CanarySettingsError(f"{STAGES_ENV}={raw[:200]!r}: 1 to {MAX_STAGES} stages")
    stages = tuple(
        _stage(item, f"{STAGES_ENV} stage {n} {item[:50]!r}") for n, item in enumerate(items, 1)
    )
    for n, (before, after) in enumerate(itertools.pairwise(stages), 2):
        if after.percent <= before.percent:
            raise CanarySettingsError(
                f"{STAGES_ENV} stage {n} {items[n - 1][:50]!r}: percent {after.percent:g} is "
                f"not above the stage before ({before.percent:g})"
            )
    return stages


def parse_threshold(raw: str) -> float:
    where = f"{THRESHOLD_ENV}={raw[:50]!r}"
    value = _number(raw, "threshold", where)
    if not 0 < value < MAX_THRESHOLD:
        raise CanarySettingsError(f"{where}: the error rate is not in (0, {MAX_THRESHOLD})")
    return value


def canary_settings(environ: Mapping[str, str]) -> tuple[tuple[CanaryStage, ...], float]:
    """The stages and threshold the operator set, or the defaults for what is unset."""
    raw_stages, raw_threshold = environ.get(STAGES_ENV, ""), environ.get(THRESHOLD_ENV, "")
    stages = parse_stages(raw_stages) if raw_stages.strip() else DEFAULT_STAGES
    threshold = parse_threshold(raw_threshold) if raw_threshold.strip() else DEFAULT_THRESHOLD
    return stages, threshold

"""Removal records: signed statements that audit files or digests left the bucket, and why
(the tenant's retention, or an erasure that rewrote a file naming a person in plain). Pure.

A record is a digest-chain entry like a digest (the same ``{"digest": {...}, "signature"}``
envelope, ``"kind": "removal"`` in the body): it names the chain's previous entry and the next
digest names it, so the chain goes on through it. What it lists as removed (key and sha256,
and the file that replaced it, if any) is absent for a reason a verifier can check with the
public keys; a file or digest missing without such a record is still a deleted one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bdg_audit.digests import Previous
from bdg_audit.layout import tenant_prefix

KIND = "removal"


@dataclass(frozen=True)
class Removed:
    key: str
    sha256: str
    replaced_by: str | None = None  # the key of the file written in its place
    replacement_sha256: str | None = None


def removal_key(prefix: str, tenant_id: str, at: datetime, reason: str, tag: str = "") -> str:
    """Deterministic: the same pass (its moment, its erasure as ``tag``) the same key."""
    moment = at.astimezone(UTC)
    day = f"{moment:%Y/%m/%d/%H%M%S}"
    return f"{tenant_prefix(prefix, tenant_id)}digests/{day}-{reason}{tag}.json"


def removal_body(
    tenant_id: str,
    reason: str,
    detail: dict[str, Any],
    removed: list[Removed],
    previous: Previous | None,
) -> dict[str, Any]:
    """``detail`` says why in the reason's terms (the retention days and cutoff, the
    erasure's id)."""
    return {
        "kind": KIND,
        "tenant": tenant_id,
        "reason": reason,
        "detail": detail,
        "removed": [
            {
                "key": r.key,
                "sha256": r.sha256,
                "replaced_by": r.replaced_by,
                "replacement_sha256": r.replacement_sha256,
            }
            for r in sorted(removed, key=lambda r: r.key)
        ],
        "previous": None
        if previous is None
        else {"key": previous.key, "signature_sha256": previous.signature_sha256},
    }


def removed_of(body: dict[str, Any]) -> list[Removed]:
    """What a (verified) record lists as removed; malformed entries are skipped."""
    out = []
    for item in body.get("removed", []):
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            out.append(
                Removed(
                    item["key"],
                    str(item.get("sha256", "")),
                    item.get("replaced_by"),
                    item.get("replacement_sha256"),
                )
            )
    return out

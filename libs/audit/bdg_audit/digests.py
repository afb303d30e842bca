"""Digest files: per tenant and period, the audit files recorded in it with their sha256,
signed, each naming the one before (CloudTrail's log file integrity validation). Pure.

A digest object is JSON ``{"digest": {...}, "signature": "<compact JWS>"}``; the JWS payload is
the canonical JSON of ``digest``. Deleting, replacing or editing any audit file or digest, or
leaving one out of the chain, no longer matches what the next digest (or the log) says.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bdg_audit.chain import Signer, canonical_json
from bdg_audit.keys import kid_of, unb64url
from bdg_audit.layout import tenant_prefix
from bdg_audit.verify import Fault, Finding


@dataclass(frozen=True)
class ListedFile:
    key: str
    sha256: str
    job_id: str
    through_version: int


@dataclass(frozen=True)
class Previous:
    key: str
    signature_sha256: str


@dataclass(frozen=True)
class SignedDigest:
    content: bytes
    sha256: str
    signature: str


def period_of(moment: datetime, length: timedelta) -> datetime:
    """The start of the period ``moment`` falls in (periods start at the epoch, UTC)."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((moment.astimezone(UTC) - epoch) // length) * length


def digest_key(prefix: str, tenant_id: str, period_start: datetime) -> str:
    start = period_start.astimezone(UTC)
    return f"{tenant_prefix(prefix, tenant_id)}digests/{start:%Y/%m/%d/%H%M%S}-digest.json"


def digest_body(
    tenant_id: str,
    start: datetime,
    end: datetime,
    files: list[ListedFile],
    previous: Previous | None,
) -> dict[str, Any]:
    return {
        "tenant": tenant_id,
        "period_start": start.astimezone(UTC).isoformat(),
        "period_end": end.astimezone(UTC).isoformat(),
        "files": [
            {"key": f.key, "sha256": f.sha256, "job_id": f.job_id, "version": f.through_version}
            for f in sorted(files, key=lambda f: f.key)
        ],
        "previous": None
        if previous is None
        else {
            "key": previous.key,
            "signature_sha256": previous.signature_sha256,
        },
    }


def sign_digest(body: dict[str, Any], signer: Signer) -> SignedDigest:
    signature = signer.sign(canonical_json(body).encode())
    content = json.dumps({"digest": body, "signature": signature}, indent=1).encode()
    return SignedDigest(content, hashlib.sha256(content).hexdigest(), signature)


def signature_sha256(signature: str) -> str:
    return hashlib.sha256(signature.encode()).hexdigest()


def check_digest(
    content: bytes, keys: dict[str, Ed25519PublicKey]
) -> tuple[dict[str, Any] | None, Finding | None]:
    """The digest's body if its signature verifies and covers it, else what is wrong."""
    try:
        data = json.loads(content)
        body, signature = data["digest"], str(data["signature"])
        header_b64, payload_b64, sig_b64 = signature.split(".")
        kid = kid_of(signature)
    except (ValueError, KeyError, TypeError):
        return None, Finding(Fault.altered_digest, None, "not a digest file")
    key = keys.get(kid)
    if key is None:
        return None, Finding(Fault.unknown_key, None, f"kid {kid!r} is not a published key")
    try:
        key.verify(unb64url(sig_b64), f"{header_b64}.{payload_b64}".encode())
    except InvalidSignature:
        return None, Finding(Fault.wrong_key, None, f"does not verify with key {kid!r}")
    if json.loads(unb64url(payload_b64)) != body:
        return None, Finding(Fault.altered_digest, None, "differs from what was signed")
    return body, None

"""Who may report counts for a release: a key per (tenant, site, release), HMAC-signed.

A page on a cloud provider reports to a collector we run (the edge's ``/_bdg/collect``), so the
collector must tell a release's own page from a forger. The deployer writes into each release
it publishes the HMAC of the release's tenant, site and name under a secret only the deployer
and the edge read (``BDG_HOME/edge/beacon.key``, 0600, made by whichever starts first). The key
is public (it is in the page), but it names one release: a tenant holding the key of its own
release cannot report for another tenant's.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

SECRET_BYTES = 32
KEY = r"^[0-9a-f]{64}$"


class BeaconSecretError(Exception):
    """The secret file exists but is not one this code wrote."""


def secret_path(edge_dir: Path) -> Path:
    return edge_dir / "beacon.key"


def load_secret(path: Path) -> bytes:
    """The shared secret; created (exclusively, so two starting processes agree) if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(SECRET_BYTES))
    raw = path.read_text().strip()
    if len(raw) != 2 * SECRET_BYTES or not all(c in "0123456789abcdef" for c in raw):
        raise BeaconSecretError(f"{path}: not a beacon secret (64 hex digits); remove it")
    return bytes.fromhex(raw)


def release_key(secret: bytes, tenant: str, site_id: str, release: str) -> str:
    message = f"{tenant}\n{site_id}\n{release}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def key_matches(secret: bytes, tenant: str, site_id: str, release: str, key: str) -> bool:
    return hmac.compare_digest(release_key(secret, tenant, site_id, release), key)

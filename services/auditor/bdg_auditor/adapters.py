"""The auditor's outside world: the object store and the signing keys, behind one object."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import logging
from datetime import datetime, timedelta

from bdg_audit.chain import SignedFile
from bdg_audit.keys import Keyring, SigningKey, kid_of, merge_jwks
from bdg_audit.layout import jwks_key
from bdg_audit.store import ObjectStore

log = logging.getLogger(__name__)


def facts_of_existing(content: bytes) -> SignedFile:
    """A file found already stored (a crash came between upload and record): taken as it is."""
    records = list(csv.reader(io.StringIO(content.decode(errors="replace"))))[1:]
    kids = {kid_of(r[-1]) for r in records if r}
    digest = hashlib.sha256(content).hexdigest()
    return SignedFile(content, digest, len(records), tuple(sorted(kids)))


class AuditStorage:
    def __init__(self, store: ObjectStore, keyring: Keyring, prefix: str, rotate_after: timedelta):
        self.store, self.keyring, self.prefix = store, keyring, prefix
        self.rotate_after = rotate_after
        self._published: str | None = None  # the active kid the bucket's JWKS last got

    async def signer(self, now: datetime) -> SigningKey:
        """The active key (rotated when too old), its public half published before first use."""
        key = await asyncio.to_thread(self.keyring.ensure, now, self.rotate_after)
        if self._published != key.kid:
            await asyncio.to_thread(self._publish_jwks)
            self._published = key.kid
        return key

    async def existing(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self.store.get, key)

    async def put(self, key: str, content: bytes, content_type: str = "text/csv") -> None:
        await asyncio.to_thread(self.store.put, key, content, content_type)

    def _publish_jwks(self) -> None:
        # Union with what is there: other auditor copies (other state dirs) publish their keys
        # to the same file, and a rotated-out key must keep verifying old rows.
        self.store.ensure_bucket()
        current = self.store.get(jwks_key(self.prefix))
        stored = json.loads(current) if current else {"keys": []}
        jwks = merge_jwks(stored, self.keyring.jwks())
        if jwks != stored:
            self.store.put(
                jwks_key(self.prefix), json.dumps(jwks, indent=2).encode(), "application/json"
            )
            log.info("published audit keys: %s", [k["kid"] for k in jwks["keys"]])

"""People in signed audit files: keyed pseudonyms that die with the person's key.

A user id is written as ``p-`` + an HMAC under the user's own data key, and what the job's
owner typed as an HMAC under the owner's key (with its length): the same person reads the
same in every file while the key lives (exports filter by it), and once the key is destroyed
nobody, not even the master key's holder, can tie either back to them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from bdg_jobs.personal.cipher import ERASED
from bdg_jobs.personal.vault import KeyVault

PREFIX = "p-"
NO_ONE = "p-unknown"  # a filter for someone with no live key: matches no row


def pseudonym_of(key: bytes) -> str:
    return PREFIX + hmac.new(key, b"bdg-pseudonym", hashlib.sha256).hexdigest()[:24]


def keyed_digest(key: bytes, text: str) -> dict[str, Any]:
    mac = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
    return {"hmac": mac, "chars": len(text)}


def lookup_pseudonym(vault: KeyVault, tenant: str, user: str) -> str:
    """The user's pseudonym if they have a live key (an export's filter), else ``NO_ONE``."""
    key = vault.live_key(tenant, user)
    return NO_ONE if key is None else pseudonym_of(key.key)


class KeyedPeople:
    """``bdg_audit.rows.People`` under the data keys (made on first use, as sealing does)."""

    def __init__(self, vault: KeyVault) -> None:
        self.vault = vault

    def of_job(self, tenant: str, owner: str) -> KeyedWho:
        return KeyedWho(self.vault, tenant, owner)


class KeyedWho:
    def __init__(self, vault: KeyVault, tenant: str, owner: str) -> None:
        self.vault, self.tenant, self.owner = vault, tenant, owner
        self.keys: dict[str, bytes] = {}

    def _key(self, user: str) -> bytes:
        if user not in self.keys:
            self.keys[user] = self.vault.key_for_user(self.tenant, user).key
        return self.keys[user]

    def user(self, user: str) -> str:
        if user in ("", ERASED):  # erased before the file was written: nothing to hide
            return user
        return pseudonym_of(self._key(user))

    def text(self, text: str) -> Any:
        if self.owner in ("", ERASED):
            return {"sha256": hashlib.sha256(text.encode()).hexdigest(), "chars": len(text)}
        return keyed_digest(self._key(self.owner), text)


class RewritingWho:
    """People of an audit file written before pseudonyms, as they are written now; someone
    erased since (every key of theirs destroyed) gets a pseudonym under a key made for this
    rewrite and dropped with it: the same person reads the same in the file, and nobody can
    tie it to them, as under their own destroyed key."""

    def __init__(self, vault: KeyVault, tenant: str, owner: str) -> None:
        self.vault, self.tenant, self.owner = vault, tenant, owner
        self.alive = KeyedWho(vault, tenant, owner)
        self.dropped = secrets.token_bytes(32)
        self.erased_people: dict[str, bool] = {}

    def erased(self, user: str) -> bool:
        if user not in self.erased_people:
            known = self.vault.known(self.tenant, user)
            live = known and self.vault.has_live_key(self.tenant, user)
            self.erased_people[user] = known and not live
        return self.erased_people[user]

    def user(self, user: str) -> str:
        if user in ("", ERASED) or not self.erased(user):
            return self.alive.user(user)
        return PREFIX + hmac.new(self.dropped, user.encode(), hashlib.sha256).hexdigest()[:24]

    def text(self, text: str) -> Any:
        if self.owner and self.erased(self.owner):
            return keyed_digest(self.dropped, text)
        return self.alive.text(text)

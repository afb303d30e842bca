"""AES-GCM sealing of single values and wrapping of data keys: pure, keys come in.

A sealed value in an event's stored JSON is ``{"$sealed": "<key id>", "v": "<b64 nonce+ct>"}``;
its associated data binds it to one field of one event, so a sealed value copied into another
event or field does not open. A value whose key is gone opens as ``ERASED``.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ERASED = "[erased]"
SEALED = "$sealed"
KEY_BYTES = 32
NONCE_BYTES = 12


class MasterKeyError(RuntimeError):
    """A data key does not unwrap: this process's master key is not the one that wrapped it."""


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def wrap(master: bytes, key_id: UUID, key: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(master).encrypt(nonce, key, key_id.bytes)


def unwrap(master: bytes, key_id: UUID, wrapped: bytes) -> bytes:
    try:
        return AESGCM(master).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], key_id.bytes)
    except InvalidTag:
        raise MasterKeyError(
            f"data key {key_id} does not unwrap with this master key (BDG_MASTER_KEY or "
            "BDG_HOME/master.key must be the same for every process of one database)"
        ) from None


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and SEALED in value


def key_id_of(sealed: dict[str, Any]) -> UUID:
    return UUID(str(sealed[SEALED]))


def seal(key: bytes, key_id: UUID, aad: bytes, value: Any) -> dict[str, str]:
    nonce = os.urandom(NONCE_BYTES)
    plain = json.dumps(value, separators=(",", ":")).encode()
    sealed = nonce + AESGCM(key).encrypt(nonce, plain, aad)
    return {SEALED: str(key_id), "v": base64.b64encode(sealed).decode()}


def open_sealed(key: bytes | None, aad: bytes, sealed: dict[str, Any]) -> Any:
    """The value, or ``ERASED`` when its key was destroyed (``key`` None)."""
    if key is None:
        return ERASED
    raw = base64.b64decode(sealed["v"])
    try:
        plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad)
    except InvalidTag:
        raise ValueError("a sealed value does not open: moved or altered") from None
    return json.loads(plain)

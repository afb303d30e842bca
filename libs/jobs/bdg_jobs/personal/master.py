"""The master key that wraps every data key: ``BDG_MASTER_KEY`` (base64 of 32 bytes), else
``BDG_HOME/master.key``, made on first use (mode 0600). Never in the database or an event:
whoever has the database alone reads no personal field."""

from __future__ import annotations

import base64
import binascii
import os
import tempfile
from pathlib import Path

from bdg_jobs.personal.cipher import KEY_BYTES, new_data_key

FILE_NAME = "master.key"


class MasterKeyConfigError(RuntimeError):
    """BDG_MASTER_KEY is set but is not a key."""


def decode_master(text: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        raise MasterKeyConfigError("BDG_MASTER_KEY: not base64") from None
    if len(key) != KEY_BYTES:
        raise MasterKeyConfigError(f"BDG_MASTER_KEY: {len(key)} bytes, not {KEY_BYTES}")
    return key


def master_key_file(home: Path) -> bytes:
    path = home / FILE_NAME
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        # Written whole under another name, then linked: a process starting beside this one
        # finds either no file or the whole key, and the first link wins.
        fd, tmp = tempfile.mkstemp(dir=home, prefix=".master-")
        with os.fdopen(fd, "w") as out:
            out.write(base64.b64encode(new_data_key()).decode())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return decode_master(path.read_text())


def master_key() -> bytes:
    text = os.environ.get("BDG_MASTER_KEY")
    if text:
        return decode_master(text)
    return master_key_file(Path(os.environ.get("BDG_HOME") or ".bdg"))

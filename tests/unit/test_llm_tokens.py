"""Token counts with tiktoken, offline: the bundled cl100k_base file, verified, in the cache."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bdg_llm import tokens
from bdg_llm.api import Message

pytestmark = pytest.mark.timeout(60)

# Runs in a fresh process whose sockets all fail: the count must not need the network.
NO_NETWORK = """
import socket, sys
def refuse(*args, **kwargs):
    raise OSError("network disabled in this test")
socket.socket.connect = refuse
socket.create_connection = refuse
from bdg_llm import tokens
print(tokens.count_text("hello world"))
import os; print(os.environ["TIKTOKEN_CACHE_DIR"])
print(sorted(m for m in sys.modules if m.startswith("tiktoken_ext")))
"""


def test_counts_offline_in_a_fresh_cache(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TIKTOKEN_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", NO_NETWORK], capture_output=True, text=True, check=True, env=env
    ).stdout.splitlines()

    assert out[0] == "2"
    cache = Path(out[1])
    assert cache == tmp_path / "bigdaddyg" / "tiktoken"
    blob = cache / hashlib.sha1(tokens.CL100K_URL.encode()).hexdigest()
    digest = hashlib.sha256(blob.read_bytes()).hexdigest()
    assert digest.startswith("223921b7")
    assert digest.endswith("b2a7")
    # The data package's own code (a tiktoken plugin) is never imported.
    assert out[2] == "['tiktoken_ext', 'tiktoken_ext.openai_public']"


def test_a_corrupt_cached_file_is_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    target = tmp_path / hashlib.sha1(tokens.CL100K_URL.encode()).hexdigest()
    target.write_bytes(b"not the encoding")

    assert tokens.install_offline_encoding() == target
    assert hashlib.sha256(target.read_bytes()).hexdigest() == tokens.CL100K_SHA256
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left


def test_a_user_cache_dir_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "mine"))
    assert tokens.install_offline_encoding().parent == tmp_path / "mine"
    assert os.environ["TIKTOKEN_CACHE_DIR"] == str(tmp_path / "mine")


def test_known_counts() -> None:
    assert tokens.count_text("") == 0
    assert tokens.count_text("hello world") == 2
    assert tokens.count_text("<|endoftext|>") > 1  # special tokens in text are plain text


def test_messages_count_content_and_framing() -> None:
    messages = (Message("system", "You plan."), Message("user", "hello world"))
    content = sum(tokens.count_text(m.role) + tokens.count_text(m.content) for m in messages)
    assert tokens.count_messages(messages) == content + 3 * 2 + 3
    assert tokens.count_messages(()) == 3


@pytest.mark.parametrize(
    ("model", "exact"),
    [
        ("gpt-4", True),
        ("gpt-3.5-turbo-0125", True),
        ("text-embedding-3-small", True),
        ("gpt-4o-mini", False),  # o200k_base: no offline copy, counted with cl100k_base
        ("gpt-4.1", False),
        ("qwen2.5-coder-0.5b-instruct", False),  # its own tokenizer
    ],
)
def test_which_counts_are_exact(model: str, exact: bool) -> None:
    assert tokens.is_exact(model) is exact

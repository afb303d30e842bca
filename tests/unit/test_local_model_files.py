"""The offline model's GGUF file: joined from the installed part wheels, verified, rebuilt when
damaged, refused when the parts are not the pinned bytes (real wheels, real files)."""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import replace
from pathlib import Path

import pytest

from bdg_llm.local_model import (
    DEFAULT_SPECULATIVE,
    MODELS,
    LocalModelConfig,
    ModelFileError,
    ModelMismatchError,
    ModelNotInstalledError,
    assemble,
    resolve_model,
)
from bdg_llm.local_server import ServerOptions

SMALL = MODELS["0.5b"]
pytestmark = pytest.mark.timeout(120)


def digest(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


@pytest.fixture
def joined(tmp_path: Path) -> Path:
    return assemble(SMALL, tmp_path / "models")


def test_the_installed_parts_join_into_the_pinned_file(joined: Path) -> None:
    assert joined.name == "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    assert joined.stat().st_size == 491_400_064
    assert digest(joined) == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    assert joined.read_bytes()[:4] == b"GGUF"
    assert sorted(p.name for p in joined.parent.iterdir()) == [joined.name, f"{SMALL.name}.lock"]


def test_a_verified_cache_file_is_used_as_it_is(joined: Path) -> None:
    inode = joined.stat().st_ino
    assert assemble(SMALL, joined.parent) == joined
    assert joined.stat().st_ino == inode  # not joined again


def test_a_corrupted_cache_file_is_detected_and_rebuilt(
    joined: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stat = joined.stat()
    with joined.open("r+b") as file:  # one flipped byte, same size, same mtime
        file.seek(200_000_000)
        byte = file.read(1)
        file.seek(200_000_000)
        file.write(bytes([byte[0] ^ 0xFF]))
    os.utime(joined, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with caplog.at_level(logging.WARNING, "bdg_llm.local_model"):
        rebuilt = assemble(SMALL, joined.parent)
    assert "not the pinned file: rebuilding" in caplog.text
    assert digest(rebuilt) == SMALL.sha256


def test_a_short_cache_file_is_rebuilt(joined: Path) -> None:
    with joined.open("r+b") as file:
        file.truncate(1_000_000)
    assert assemble(SMALL, joined.parent).stat().st_size == SMALL.size_bytes
    assert digest(joined) == SMALL.sha256


def test_parts_that_do_not_join_to_the_pin_are_refused(tmp_path: Path) -> None:
    # The real last part (45 MB) against a pin it cannot match: refused, nothing left behind.
    spec = replace(SMALL, distributions=SMALL.distributions[-1:], size_bytes=45_755_264)
    with pytest.raises(ModelMismatchError, match=r"not the pinned 45755264 bytes 1d96.*refusing"):
        assemble(spec, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [f"{SMALL.name}.lock"]


def test_a_missing_part_names_the_extra_to_install(tmp_path: Path) -> None:
    spec = replace(SMALL, distributions=(*SMALL.distributions, "bdg-no-such-model-part"))
    with pytest.raises(ModelNotInstalledError, match=r"install bdg-llm\[local\]"):
        assemble(spec, tmp_path)
    assert not (tmp_path / f"{SMALL.name}.gguf").exists()


def test_your_own_gguf_file_is_used_unpinned_and_the_log_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    own = tmp_path / "mine.gguf"
    own.write_bytes(b"GGUF" + bytes(60))
    config = LocalModelConfig.from_env({"BDG_LOCAL_MODEL": str(own)})
    with caplog.at_level(logging.WARNING, "bdg_llm.local_model"):
        model = resolve_model(config, tmp_path / "models")
    assert (model.path, model.name, model.pinned) == (own, "mine", False)
    assert "not hash-pinned" in caplog.text
    assert not (tmp_path / "models").exists()  # nothing joined


def test_your_own_file_must_be_a_gguf_file(tmp_path: Path) -> None:
    other = tmp_path / "weights.bin"
    other.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(ModelFileError, match="is not a GGUF file"):
        resolve_model(LocalModelConfig(own_file=other), tmp_path)
    with pytest.raises(ModelFileError, match="No such file"):
        resolve_model(LocalModelConfig(own_file=tmp_path / "absent.gguf"), tmp_path)


def test_the_model_size_comes_from_the_environment() -> None:
    assert LocalModelConfig.from_env({}).size == "0.5b"
    assert LocalModelConfig.from_env({"BDG_LOCAL_MODEL_SIZE": "1.5B"}).size == "1.5b"
    with pytest.raises(ModelFileError, match="choose one of"):
        LocalModelConfig.from_env({"BDG_LOCAL_MODEL_SIZE": "7b"})


def test_the_server_threads_come_from_the_environment() -> None:
    assert LocalModelConfig.from_env({}).threads is None
    assert LocalModelConfig.from_env({"BDG_LOCAL_MODEL_THREADS": " 1 "}).threads == 1
    for bad in ("0", "-1", "1.5", "two", "257", "1\x00"):
        with pytest.raises(ModelFileError, match="a whole number from 1 to 256"):
            LocalModelConfig.from_env({"BDG_LOCAL_MODEL_THREADS": bad})


def test_speculative_decoding_comes_from_the_environment() -> None:
    assert LocalModelConfig.from_env({}).speculative == DEFAULT_SPECULATIVE
    on = {"BDG_LOCAL_MODEL_SPECULATIVE": " NGRAM-MOD "}
    assert LocalModelConfig.from_env(on).speculative == "ngram-mod"
    large = {"BDG_LOCAL_MODEL_SIZE": "1.5b", "BDG_LOCAL_MODEL_SPECULATIVE": "draft"}
    assert LocalModelConfig.from_env(large).speculative == "draft"
    for bad in ("eagle", "ngram", "none\x00"):
        with pytest.raises(ModelFileError, match="choose one of"):
            LocalModelConfig.from_env({"BDG_LOCAL_MODEL_SPECULATIVE": bad})
    with pytest.raises(ModelFileError, match="only"):  # the 0.5B cannot draft for itself
        LocalModelConfig.from_env({"BDG_LOCAL_MODEL_SPECULATIVE": "draft"})
    own = {**large, "BDG_LOCAL_MODEL": "/models/mine.gguf"}
    with pytest.raises(ModelFileError, match="only"):  # nor for a file of unknown family
        LocalModelConfig.from_env(own)


def test_server_options_refuse_a_draft_model_without_the_draft_mode_and_unknown_modes() -> None:
    with pytest.raises(ValueError, match="one of"):
        ServerOptions(speculative="lookahead")
    with pytest.raises(ValueError, match="draft model"):
        ServerOptions(speculative="draft")
    with pytest.raises(ValueError, match="draft model"):
        ServerOptions(draft_model=Path("d.gguf"))
    assert ServerOptions(speculative="draft", draft_model=Path("d.gguf")).speculative == "draft"

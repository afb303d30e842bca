"""A static embedding space distilled from the offline MiniLM: one vector per WordPiece token.

The Model2Vec idea, our own code: every token of MiniLM's vocabulary (30,522) is run through the
pinned int8 ONNX model once, as ``[SEP] token [CLS]`` (the markers swapped, as Model2Vec found
better; here too: vector recall@6 0.79 against 0.73 on bench.retrieval_quality's dev part), and
the mean of the three output states is that token's vector. The table is centred (the shared
direction every mean of many tokens drifts to is taken out) and rotated onto its principal axes
(PCA; all 384 kept: 256, Model2Vec's default, did 0.77 on the dev part), and each row is weighted
by its token's rarity: ``a / (a + p)`` with ``p`` the token's probability under Zipf's law over
the vocabulary's order (BERT's WordPiece ids run roughly from common to rare once past the
reserved and single-character ids), as SIF weighting does. A text is the normalised mean of its
tokens' rows: no model run, no window (the whole chunk counts), numpy only. The table is made on
first use (under a minute on two cores at load 5) and cached under ``BDG_HOME/models`` next to a
file holding its sha256, which is checked at every load (a damaged cache is made again).

These vectors are a space of their own (``model_name`` differs from MiniLM's, and so does the
chunk table): never compare them with MiniLM's.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import io
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from bdg_llm.embeddings import (
    ONNX_MODEL,
    TOKENIZER,
    EmbeddingModelError,
    locate,
    model_session,
    usable_cores,
)

log = logging.getLogger(__name__)

RECIPE = "v1"  # change with anything below: a new name, a new table, a new chunk table
DIMS = 384  # principal axes kept: all of them (see above)
SIF = 1e-4  # a in a / (a + p): tokens more common than about 1 in 10,000 weigh less
DISTILL_BATCH = 1024  # tokens per model run while distilling (3 positions each)
# No window: a text is read whole. A large number rather than none, so the chunker (which caps
# chunks at two windows, never above 512 cl100k tokens) keeps its usual chunk size.
WINDOW = 1 << 20


def models_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("BDG_HOME") or ".bdg") / "models"


def table_name() -> str:
    """The cache file's name: the model's pin and the recipe, so either changing remakes it."""
    return f"minilm-static-{RECIPE}-{DIMS}-{ONNX_MODEL.sha256[:12]}.npy"


def distill(tokenizer: Any, session: Any, vocab: int | None = None) -> Any:
    """The weighted, rotated table (vocabulary x DIMS, float32), row 0 ([PAD], never produced
    by the tokenizer) holding the vector of the empty text. ``vocab``: the first ids only (a
    smaller table, for tests)."""
    import numpy as np

    vocab = vocab or tokenizer.get_vocab_size()
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    rows = []
    for start in range(0, vocab, DISTILL_BATCH):
        ids = np.arange(start, min(start + DISTILL_BATCH, vocab), dtype=np.int64)
        batch = np.stack([np.full_like(ids, sep), ids, np.full_like(ids, cls)], axis=1)
        rows.append(_mean_states(session, batch))
    raw = np.concatenate(rows)
    raw[0] = _mean_states(session, np.array([[cls, sep]], dtype=np.int64))[0]
    projected = principal_axes(raw, DIMS)
    return (projected * sif_weights(vocab)[:, None]).astype(np.float32)


def _mean_states(session: Any, batch: Any) -> Any:
    import numpy as np

    feeds = {
        "input_ids": batch,
        "attention_mask": np.ones_like(batch),
        "token_type_ids": np.zeros_like(batch),
    }
    hidden = session.run(None, feeds)[0]  # (rows, positions, 384)
    return hidden.astype(np.float64).mean(axis=1)


def principal_axes(rows: Any, dims: int) -> Any:
    """``rows`` centred and projected on their ``dims`` principal axes, each axis's sign fixed
    (its largest loading positive) so the same rows always give the same table."""
    import numpy as np

    centred = rows - rows.mean(axis=0)
    values, vectors = np.linalg.eigh(centred.T @ centred)
    axes = vectors[:, np.argsort(values)[::-1][:dims]]
    signs = np.sign(axes[np.abs(axes).argmax(axis=0), np.arange(axes.shape[1])])
    return centred @ (axes * signs)


def sif_weights(vocab: int) -> Any:
    """``SIF / (SIF + p)``, ``p`` the Zipf probability of each id's rank (id order)."""
    import numpy as np

    inverse_rank = 1.0 / np.arange(2, vocab + 2, dtype=np.float64)
    return SIF / (SIF + inverse_rank / inverse_rank.sum())


def table_bytes(table: Any) -> bytes:
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, table, allow_pickle=False)
    return buffer.getvalue()


def cached_table(target: Path, make: Callable[[], Any]) -> Any:
    """The table in ``target``, verified against the sha256 in ``target.sha256``; made with
    ``make`` (and written atomically, under a lock another process making it waits on) when
    missing or damaged."""
    import numpy as np

    target.parent.mkdir(parents=True, exist_ok=True)
    digest_file = target.with_name(target.name + ".sha256")
    with _locked(target.with_name(target.name + ".lock")):
        if target.exists() and digest_file.exists():
            data = target.read_bytes()
            if hashlib.sha256(data).hexdigest() == digest_file.read_text().strip():
                return np.load(io.BytesIO(data), allow_pickle=False)
            log.warning("static embedding table %s is damaged: distilling it again", target)
        log.info("distilling the static embedding table into %s", target)
        data = table_bytes(make())
        for path, content in ((target, data), (digest_file, _digest_line(data))):
            partial = path.with_name(f"{path.name}.partial-{os.getpid()}")
            partial.write_bytes(content)
            partial.replace(path)  # atomic: a reader never sees half a file
        return np.load(io.BytesIO(data), allow_pickle=False)


def _digest_line(data: bytes) -> bytes:
    return (hashlib.sha256(data).hexdigest() + "\n").encode()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


class StaticEmbedder:
    """Texts as the normalised weighted mean of their tokens' distilled MiniLM vectors."""

    model_name = f"all-MiniLM-L6-v2-int8-static-{RECIPE}"
    dims = DIMS
    window_tokens = WINDOW

    def __init__(self, directory: Path | None = None, threads: int | None = None) -> None:
        """``directory``: where the table is cached (None: BDG_HOME/models); ``threads``: the
        model's threads while distilling (None: every usable core)."""
        self.directory = directory or models_dir()
        self.threads = threads or usable_cores()
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any] | None = None  # (tokenizers.Tokenizer, table)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return await asyncio.to_thread(self.embed_sync, texts)

    def embed_sync(self, texts: Sequence[str]) -> list[list[float]]:
        return [[float(x) for x in row] for row in self.embed_array(texts)]

    def embed_array(self, texts: Sequence[str]) -> Any:
        """(texts, DIMS) float32, unit rows. A text without tokens (empty, whitespace, control
        characters the tokenizer drops) gets the distilled vector of the empty text."""
        import numpy as np

        tokenizer, table = self._load()
        out = np.empty((len(texts), DIMS), dtype=np.float32)
        encodings = tokenizer.encode_batch(list(texts), add_special_tokens=False)
        for row, encoding in enumerate(encodings):
            ids = np.asarray(encoding.ids, dtype=np.int64)
            if ids.size == 0:
                out[row] = table[0]
                continue
            # Counts over distinct ids: memory bounded by the vocabulary, however long the text.
            unique, counts = np.unique(ids, return_counts=True)
            out[row] = counts.astype(np.float32) @ table[unique]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.clip(norms, 1e-12, None)

    def tokenizer(self) -> Any:
        """The tokenizer texts are read with (encode with ``add_special_tokens=False``)."""
        return self._load()[0]

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        tokenizer, _ = self._load()
        return [e.ids for e in tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def table_sha256(self) -> str:
        _, table = self._load()
        return hashlib.sha256(table_bytes(table)).hexdigest()

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._loaded is None:
                try:
                    from tokenizers import Tokenizer
                except ImportError as err:
                    raise EmbeddingModelError(
                        "tokenizers is missing (install bdg-llm[embeddings])"
                    ) from err
                tokenizer = Tokenizer.from_file(str(locate(TOKENIZER)))
                tokenizer.no_truncation()  # the whole text, however long
                tokenizer.no_padding()
                table = cached_table(
                    self.directory / table_name(),
                    lambda: distill(tokenizer, model_session(self.threads)),
                )
                self._loaded = (tokenizer, table)
            return self._loaded

"""The indexer's pure decisions: refs, what to embed, batches, status errors, failure kinds."""

from __future__ import annotations

import itertools

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bdg_indexer import domain
from bdg_indexer.chunks import Chunk, SourceFile
from bdg_indexer.discovery.git import NotAGitRepositoryError
from bdg_indexer.failures import describe, is_transient
from bdg_indexer.mirror import MirrorError, check_source
from bdg_llm.api import LlmRejectedError, LlmUnavailableError
from bdg_llm.embeddings import EmbeddingModelError

pytestmark = pytest.mark.timeout(30)


def source(path: str, blob: str) -> SourceFile:
    return SourceFile(path, blob, "python", "x = 1\n")


def chunks(path: str, n: int) -> list[Chunk]:
    return [Chunk(path, "b", i, i + 1, i + 1, "python", 3, "x") for i in range(n)]


@pytest.mark.parametrize(
    ("registered", "pushed", "default", "follows"),
    [
        ("main", "refs/heads/main", None, True),
        ("refs/heads/main", "refs/heads/main", None, True),
        ("main", "main", None, True),
        ("main", "refs/heads/dev", None, False),
        ("main", "refs/tags/main", None, False),
        ("refs/tags/v1", "refs/tags/v1", None, True),
        ("HEAD", "refs/heads/trunk", "refs/heads/trunk", True),
        ("HEAD", "refs/heads/main", "refs/heads/trunk", False),
        ("HEAD", "refs/heads/main", None, False),  # the default branch is unknown
    ],
)
def test_a_push_counts_only_on_the_registered_ref(
    registered: str, pushed: str, default: str | None, follows: bool
) -> None:
    assert domain.follows(registered, pushed, default) is follows


def test_work_splits_files_into_embed_reuse_and_stale() -> None:
    files = [source("a.py", "1"), source("b.py", "2"), source("c.py", "3")]
    stored = {"a.py": frozenset({"1"}), "b.py": frozenset({"old"}), "c.py": frozenset({"3", "x"})}
    work = domain.plan(files, stored)
    assert [f.path for f in work.embed] == ["b.py"]
    assert [f.path for f in work.reuse] == ["a.py", "c.py"]
    assert work.stale == ("b.py", "c.py")
    assert domain.gone(["a.py", "z.py", "b.py"], ["a.py", "b.py"]) == ("z.py",)


@given(st.lists(st.integers(min_value=0, max_value=20), max_size=30), st.integers(1, 10))
def test_batches_keep_files_whole_and_in_order(sizes: list[int], size: int) -> None:
    items = [(source(f"f{i}.py", "b"), chunks(f"f{i}.py", n)) for i, n in enumerate(sizes)]
    batches = list(domain.batches(items, size))
    assert [item for batch in batches for item in batch] == items
    for batch in batches:
        count = sum(len(c) for _, c in batch)
        assert count <= size or len(batch) == 1  # only a file bigger than a batch goes alone
    # No two neighbours could have been one batch.
    totals = [sum(len(c) for _, c in batch) for batch in batches]
    for left, right in itertools.pairwise(totals):
        assert left + right > size or left == 0 or right == 0


def test_status_errors_of_an_incremental_run_replace_only_what_it_looked_at() -> None:
    previous = [
        {"path": "big.py", "reason": "oversize: 2 MB"},
        {"path": "gen.py", "reason": "generated_header: line 1"},
    ]
    new = [domain.error_entry("bin.py", "binary: NUL byte")]
    merged = domain.merge_errors(previous, touched=["gen.py", "bin.py"], new=new)
    assert merged == [
        {"path": "big.py", "reason": "oversize: 2 MB"},
        {"path": "bin.py", "reason": "binary: NUL byte"},
    ]
    many = [domain.error_entry(f"f{i:04}", "x") for i in range(domain.MAX_STATUS_ERRORS + 5)]
    assert len(domain.merge_errors([], [], many)) == domain.MAX_STATUS_ERRORS


def test_credentials_in_urls_are_redacted() -> None:
    text = "git clone of https://bot:ghp_secret@github.com/a/b failed"
    assert domain.redact(text) == "git clone of https://***@github.com/a/b failed"
    assert domain.redact("ssh://git@host/x") == "ssh://***@host/x"
    assert domain.redact("/srv/repos/a") == "/srv/repos/a"


def test_an_outcome_becomes_index_updated_fields() -> None:
    outcome = domain.Outcome("a" * 40, 3, 9, 2, 7, 1, 0, 120, 0.0000024, 1.23456)
    fields = outcome.fields(domain.space_name("m", 8))
    assert fields["space"] == "m/8"
    assert fields["seconds"] == 1.235
    assert (fields["embedded"], fields["reused"], fields["tokens"]) == (2, 7, 120)


def test_sources_that_are_no_repository_address_are_refused() -> None:
    assert check_source("https://github.com/a/b") == "https://github.com/a/b"
    assert check_source("git@github.com:a/b") == "git@github.com:a/b"
    assert check_source("/srv/repos/a") == "/srv/repos/a"
    for bad, why in [
        ("relative/path", "must be absolute"),
        ("--upload-pack=touch /tmp/x", "not a repository"),
        ("", "not a repository"),
        ("/srv/a\n--foo", "not a repository"),
    ]:
        with pytest.raises(MirrorError, match=why):
            check_source(bad)


def test_which_failures_are_retried() -> None:
    assert is_transient(MirrorError("git fetch timed out", transient=True))
    assert not is_transient(MirrorError("no such repository"))
    assert is_transient(LlmUnavailableError("gave up after 5 attempts"))
    assert not is_transient(LlmRejectedError("bad key", 401))
    assert not is_transient(EmbeddingModelError("onnxruntime missing"))
    assert not is_transient(NotAGitRepositoryError("not a tree"))
    assert not is_transient(ValueError("bad glob '['"))
    assert is_transient(psycopg.OperationalError("connection refused"))
    assert is_transient(TimeoutError())
    assert is_transient(KeyError("a bug: retried, then recorded"))
    assert "timed out" in describe(TimeoutError())
    assert describe(KeyError("k")) == "KeyError: 'k'"
    assert describe(MirrorError("git clone of https://u:p@h/r failed")) == (
        "git clone of https://***@h/r failed"
    )

"""The repository-index aggregate: one per tenant and repository, pushes recorded once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bdg_contracts import index_events as ix
from bdg_jobs.domain import Cause
from bdg_jobs.repos import DuplicatePushError, RepoIndex

CAUSE = Cause("user:alice", datetime(2026, 1, 1, tzinfo=UTC), "cmd-1", "alice")
A, B = "a" * 40, "b" * 40


def registered() -> RepoIndex:
    return RepoIndex.register("acme", CAUSE, "https://GitHub.com/acme/app.git/")


def test_one_id_per_tenant_and_repository_however_spelled() -> None:
    repo = registered()
    assert repo.repo == "https://github.com/acme/app"
    assert repo.repo_id == ix.repo_id("acme", "https://github.com/acme/app")
    assert repo.repo_id != ix.repo_id("other", "https://github.com/acme/app")
    assert [e.name for e in repo.collect()] == ["RepoRegistered"]


def test_a_redelivered_push_is_refused_by_delivery_or_commit() -> None:
    repo = registered()
    push = {"provider": "github", "ref": "refs/heads/main", "before": A, "after": B}
    repo.push(CAUSE, delivery_id="d1", **push)
    with pytest.raises(DuplicatePushError, match="delivery d1"):
        repo.push(CAUSE, delivery_id="d1", **{**push, "after": "c" * 40})
    with pytest.raises(DuplicatePushError, match=f"push of {B}"):
        repo.push(CAUSE, delivery_id="d2", **push)
    assert [e.name for e in repo.collect()] == ["RepoRegistered", "RepoPushed"]


def test_the_index_state_follows_its_events() -> None:
    repo = registered()
    indexer = Cause("indexer", CAUSE.occurred_at, "evt-1")
    repo.record_failure(indexer, "clone failed", A)
    assert repo.last_error == "clone failed"
    repo.record_indexed(
        indexer, commit=B, space="minilm-384", files=3, chunks=9, embedded=9, reused=0,
        removed_files=0, skipped_files=1, tokens=900, cost_usd=0.0, seconds=1.5,
    )  # fmt: skip
    again = RepoIndex.replay(repo.collect())
    assert (again.indexed_commit, again.files, again.chunks, again.last_error) == (B, 3, 9, "")
    assert again.has_reacted("indexer", "evt-1")


def test_a_history_must_start_with_its_registration() -> None:
    repo = registered()
    repo.record_failure(Cause("indexer", CAUSE.occurred_at, "e"), "x")
    events = repo.collect()
    with pytest.raises(ValueError, match="starts with RepoRegistered"):
        RepoIndex.replay(events[1:])


@pytest.mark.parametrize("bad", ["", "not-a-sha", "A" * 40])
def test_a_push_names_a_full_commit(bad: str) -> None:
    repo = registered()
    with pytest.raises(ValueError, match="after"):
        repo.push(CAUSE, provider="github", delivery_id="d", ref="r", after=bad)

"""The pure parts of crypto-shredding: sealing values bound to their place, erased keys,
the master key's file and variable, redaction of plain fields, consent state."""

from __future__ import annotations

import base64
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest

from bdg_contracts.privacy_events import ConsentGiven, ConsentPurpose, ConsentWithdrawn
from bdg_jobs.personal.cipher import (
    ERASED,
    MasterKeyError,
    new_data_key,
    open_sealed,
    unwrap,
    wrap,
)
from bdg_jobs.personal.consents import consents_of, missing
from bdg_jobs.personal.fields import open_state, personal_names, seal_state, subject_user
from bdg_jobs.personal.master import MasterKeyConfigError, decode_master, master_key_file
from bdg_jobs.personal.redaction import redacted

AT = datetime(2026, 12, 5, tzinfo=UTC)


def test_a_sealed_value_opens_only_in_its_place_and_reads_erased_without_its_key() -> None:
    key, key_id, job = new_data_key(), uuid4(), uuid4()
    state = {"goal": "paint it", "user_id": "ada", "producer": "user:ada", "repo": "r"}
    names = personal_names(type("E", (), {"personal": ("goal",)}), state)
    assert names == ["goal", "user_id", "producer"]
    sealed = seal_state(state, names, key, key_id, job, 3)
    assert "paint it" not in str(sealed)
    assert sealed["repo"] == "r"
    assert open_state(sealed, {key_id: key}.get, job, 3) == state
    assert open_state(sealed, {}.get, job, 3)["goal"] == ERASED
    with pytest.raises(ValueError, match="moved or altered"):
        open_state(sealed, {key_id: key}.get, job, 4)  # copied into another event
    with pytest.raises(ValueError, match="moved or altered"):
        open_sealed(key, b"elsewhere", sealed["goal"])


def test_the_subject_is_the_events_user_else_a_user_producer() -> None:
    assert subject_user({"user_id": "ada", "producer": "user:bob"}) == "ada"
    assert subject_user({"user_id": None, "producer": "user:bob"}) == "bob"
    assert subject_user({"user_id": None, "producer": "planner"}) is None


def test_a_data_key_unwraps_only_with_its_master_key_and_id() -> None:
    master, key, key_id = os.urandom(32), new_data_key(), uuid4()
    wrapped = wrap(master, key_id, key)
    assert unwrap(master, key_id, wrapped) == key
    with pytest.raises(MasterKeyError, match="BDG_MASTER_KEY"):
        unwrap(os.urandom(32), key_id, wrapped)
    with pytest.raises(MasterKeyError):
        unwrap(master, uuid4(), wrapped)


def test_the_master_key_variable_is_checked() -> None:
    good = base64.b64encode(os.urandom(32)).decode()
    assert len(decode_master(good)) == 32
    with pytest.raises(MasterKeyConfigError, match="not base64"):
        decode_master("not base64!")
    with pytest.raises(MasterKeyConfigError, match="16 bytes"):
        decode_master(base64.b64encode(os.urandom(16)).decode())


def test_processes_starting_together_make_one_master_key(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: master_key_file(home), range(16)))
    assert len(keys) == 1
    assert (home / "master.key").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in home.iterdir()] == ["master.key"]  # no temporary left


def test_plain_personal_fields_are_redacted_and_the_rest_kept() -> None:
    state = {"goal": "mine", "repo": "r", "user_id": "ada", "producer": "user:ada", "x": 1}
    assert redacted("JobRequested", state) == {
        **state,
        "goal": ERASED,
        "repo": ERASED,
        "user_id": ERASED,
        "producer": ERASED,
    }
    assert redacted("JobRequested", {**state, **dict.fromkeys(state, ERASED), "x": 1}) is None
    assert redacted("NoSuchEvent", state) is None
    assert redacted("CodingFinished", {"user_id": None, "producer": "coder"}) is None


def test_consent_state_follows_the_last_event_per_purpose() -> None:
    log = uuid4()

    def event(cls: type[ConsentGiven | ConsentWithdrawn], v: int, purpose: str) -> object:
        return cls(
            job_id=log, version=v, correlation_id=str(log), tenant_id="t",
            producer="user:ada", occurred_at=AT, purpose=ConsentPurpose(purpose),
        )  # fmt: skip

    history = [
        event(ConsentGiven, 1, "analytics"),
        event(ConsentGiven, 2, "model_processing"),
        event(ConsentWithdrawn, 3, "analytics"),
    ]
    state = consents_of(history)  # type: ignore[arg-type]
    assert state == {ConsentPurpose.model_processing: True, ConsentPurpose.analytics: False}
    assert missing(state, [ConsentPurpose.analytics, ConsentPurpose.model_processing]) == [
        "analytics"
    ]

"""Audit rows, their signed chain and its verification: every tampering named, pure."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import jwt
import pytest

from bdg_audit.chain import COLUMNS, render_csv, signed_file
from bdg_audit.keys import Keyring, SigningKey, public_keys
from bdg_audit.rows import rows_of
from bdg_audit.verify import Fault, verify_file
from tests.audit_history import T0, ended_job, history_of

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def key(tmp_path) -> SigningKey:  # type: ignore[no-untyped-def]
    return Keyring(tmp_path).ensure(T0, timedelta(days=30))


def _file(key: SigningKey) -> tuple[str, bytes]:
    job = ended_job()
    history = history_of(job)
    rows = rows_of(history)
    return str(job.job_id), signed_file(
        rows, str(job.job_id), history[-1].version, "cancelled", key
    ).content


def _records(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode())))[1:]


def _faults(content: bytes, job_id: str, key: SigningKey) -> set[Fault]:
    return {f.fault for f in verify_file(content, job_id, public_keys({"keys": [key.jwk()]}))}


def test_rows_name_who_did_what_and_what_it_cost() -> None:
    rows = rows_of(history_of(ended_job(user="ada")))
    actions = [r.action for r in rows]
    assert actions == [
        "job.requested",
        "model.called",
        "plan.version",
        "plan.approved",
        "tool.called",
        "job.cancelled",
    ]
    assert {r.user_id for r in rows} == {"ada"}
    assert rows[1].cost == "0.00123"
    assert rows[4].params["arguments"] == {"path": "a.py", "text": "x = 1"}
    assert rows[4].params["by"] == "coder"
    assert rows[2].params["plan"]["chars"] == len("1. add\n2. test")


def test_an_untouched_file_verifies_and_says_nothing(key: SigningKey) -> None:
    job_id, content = _file(key)
    assert content.decode().splitlines()[0] == ",".join(COLUMNS)
    assert verify_file(content, job_id, public_keys({"keys": [key.jwk()]})) == []


def test_signing_is_deterministic(key: SigningKey) -> None:
    job = ended_job()
    history = history_of(job)
    one = signed_file(rows_of(history), str(job.job_id), 7, "cancelled", key)
    two = signed_file(rows_of(history), str(job.job_id), 7, "cancelled", key)
    assert one.sha256 == two.sha256


def test_an_edited_cell_is_an_edited_row(key: SigningKey) -> None:
    job_id, content = _file(key)
    records = _records(content)
    records[1][4] = "0"  # the model call's cost
    found = verify_file(render_csv(records), job_id, public_keys({"keys": [key.jwk()]}))
    assert [(f.fault, f.line) for f in found] == [(Fault.edited_row, 3)]


def test_a_deleted_row_is_named(key: SigningKey) -> None:
    job_id, content = _file(key)
    records = _records(content)
    del records[2]
    found = verify_file(render_csv(records), job_id, public_keys({"keys": [key.jwk()]}))
    assert [(f.fault, f.line) for f in found] == [(Fault.deleted_row, 4)]


def test_swapped_rows_are_reordered(key: SigningKey) -> None:
    job_id, content = _file(key)
    records = _records(content)
    records[1], records[2] = records[2], records[1]
    assert Fault.reordered_rows in _faults(render_csv(records), job_id, key)
    assert Fault.edited_row not in _faults(render_csv(records), job_id, key)


def test_whole_rows_cut_from_the_end_are_a_truncated_file(key: SigningKey) -> None:
    job_id, content = _file(key)
    assert _faults(render_csv(_records(content)[:-2]), job_id, key) == {Fault.truncated_file}


def test_a_line_cut_in_the_middle_is_a_truncated_file(key: SigningKey) -> None:
    job_id, content = _file(key)
    assert Fault.truncated_file in _faults(content[: len(content) - 40], job_id, key)


def test_a_file_signed_by_another_key_is_an_unknown_key(key: SigningKey, tmp_path) -> None:  # type: ignore[no-untyped-def]
    other = Keyring(tmp_path / "other").ensure(T0, timedelta(days=1))
    job_id, forged = _file(other)
    assert _faults(forged, job_id, key) == {Fault.unknown_key}


def test_our_kid_on_another_keys_signature_is_a_wrong_key(key: SigningKey, tmp_path) -> None:  # type: ignore[no-untyped-def]
    thief = Keyring(tmp_path / "thief").ensure(T0, timedelta(days=1))
    impostor = SigningKey(key.kid, thief.private)  # claims our kid
    job_id, forged = _file(impostor)
    assert _faults(forged, job_id, key) == {Fault.wrong_key}


def test_another_jobs_file_in_its_place_is_a_replaced_file(key: SigningKey) -> None:
    job_id, _ = _file(key)
    _, someone_elses = _file(key)
    assert Fault.replaced_file in _faults(someone_elses, job_id, key)


def test_rotation_keeps_old_keys_in_the_jwks(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ring = Keyring(tmp_path)
    first = ring.ensure(T0, timedelta(days=30))
    assert ring.ensure(T0 + timedelta(days=1), timedelta(days=30)).kid == first.kid
    second = ring.ensure(T0 + timedelta(days=31), timedelta(days=30))
    assert second.kid != first.kid
    assert [k["kid"] for k in ring.jwks()["keys"]] == [first.kid, second.kid]
    assert (tmp_path / f"{first.kid}.pem").stat().st_mode & 0o077 == 0
    job_id, old = _file(first)
    assert verify_file(old, job_id, public_keys(ring.jwks())) == []


def test_a_row_signature_is_a_standard_compact_jws(key: SigningKey) -> None:
    """Anyone can check a row with a JOSE library and the published JWK (PyJWT here)."""
    _, content = _file(key)
    signature = _records(content)[0][-1]
    public = jwt.PyJWK(key.jwk()).key
    payload = jwt.api_jws.decode(signature, public, algorithms=["EdDSA"])
    assert json.loads(payload)["seq"] == 0
    assert jwt.get_unverified_header(signature)["kid"] == key.kid


def test_a_rotation_is_the_active_key_even_with_the_clock_behind(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ring = Keyring(tmp_path)
    first = ring.rotate(T0)
    second = ring.rotate(T0 - timedelta(hours=1))  # a clock that went back
    assert ring.active().kid == second.kid != first.kid

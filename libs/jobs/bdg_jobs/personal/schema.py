"""The tables of the data keys: created with the event store (a log that seals needs them) and
by migration 13, whichever runs first (``IF NOT EXISTS``)."""

from __future__ import annotations

KEY_TABLES: tuple[str, ...] = (
    # ``subject`` is an HMAC of (tenant, user) under the master key: the key is found by the
    # person without the table naming them. ``wrapped`` NULL: erased (the row stays, so a
    # second erasure is told from an unknown person).
    """CREATE TABLE IF NOT EXISTS bdg_subject_keys (
        key_id UUID PRIMARY KEY,
        tenant TEXT NOT NULL,
        subject TEXT NOT NULL,
        wrapped BYTEA,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        erased_at TIMESTAMPTZ
    )""",
    """CREATE UNIQUE INDEX IF NOT EXISTS bdg_subject_keys_live
        ON bdg_subject_keys (subject) WHERE erased_at IS NULL""",
    # Whose is an aggregate (a job): the key its service-decided personal fields are sealed
    # with (a plan drafted from the goal), and the jobs an erasure reaches.
    """CREATE TABLE IF NOT EXISTS bdg_aggregate_subjects (
        aggregate_id UUID PRIMARY KEY,
        key_id UUID NOT NULL REFERENCES bdg_subject_keys (key_id)
    )""",
    """CREATE INDEX IF NOT EXISTS bdg_aggregate_subjects_key
        ON bdg_aggregate_subjects (key_id)""",
)

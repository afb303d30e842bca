"""Tenants choose plan approval and the critic's bar."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bdg_jobs.tenants import TenantPolicy, TenantPolicyError, load_policies


def test_a_tenant_gets_its_own_policy_and_others_the_default(tmp_path: Path) -> None:
    path = tmp_path / "tenants.json"
    path.write_text(
        json.dumps(
            {
                "default": {"plan_approval": "gated"},
                "tenants": {"acme": {"plan_approval": "auto", "plan_score_threshold": 6}},
            }
        )
    )
    policies = load_policies(path)
    assert policies.for_tenant("acme") == TenantPolicy(plan_approval="auto", plan_score_threshold=6)
    assert policies.for_tenant("other").plan_approval == "gated"


def test_no_file_means_everyone_gets_the_default() -> None:
    assert (
        load_policies(None, TenantPolicy(plan_score_threshold=9))
        .for_tenant("x")
        .plan_score_threshold
        == 9
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "invalid tenant policies"),
        ('{"tenants": {"a": {"plan_approval": "sometimes"}}}', "plan_approval"),
        ('{"tenants": {"a": {"plan_score_threshold": 11}}}', "plan_score_threshold"),
    ],
)
def test_a_bad_file_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "tenants.json"
    path.write_text(content)
    with pytest.raises(TenantPolicyError, match=message):
        load_policies(path)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TenantPolicyError, match="cannot read"):
        load_policies(tmp_path / "nope.json")

"""The ceilings' configuration and check alone (ceilings.py): no daemon."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bdg_contracts.sandbox import Limits
from bdg_sandboxd.ceilings import Ceilings, TenantCeilings, over_ceilings
from bdg_sandboxd.settings import SandboxSettings


def test_every_limit_a_request_may_carry_has_a_ceiling() -> None:
    assert set(Ceilings.model_fields) == set(Limits.model_fields)


def test_the_protocol_defaults_fit_the_default_ceilings() -> None:
    assert over_ceilings(Limits(), Ceilings()) == []


def test_each_limit_over_its_ceiling_is_named_with_both_values() -> None:
    asked = Limits(memory_mb=4096, pids=100, timeout_s=7200)
    assert over_ceilings(asked, Ceilings()) == [
        "limits.memory_mb: asked 4096, ceiling 2048",
        "limits.timeout_s: asked 7200.0, ceiling 1800.0",
    ]


def test_a_tenant_override_replaces_only_its_fields() -> None:
    ceilings = TenantCeilings.model_validate(
        {"default": {"pids": 600}, "tenants": {"acme": {"memory_mb": 8192}}}
    )
    assert ceilings.of("acme") == Ceilings(memory_mb=8192, pids=600)
    assert ceilings.of("other") == Ceilings(pids=600)


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"tenants": {"acme": {"memory": 8192}}}, "memory"),
        ({"tenants": {"acme": {"memory_mb": 1 << 20}}}, "memory_mb"),
        ({"default": {"pids": 100}}, "below the protocol default 256"),
    ],
)
def test_a_bad_configuration_is_refused_naming_the_field(
    config: dict[str, object], problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        TenantCeilings.model_validate(config)


def test_the_setting_reads_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_CEILINGS", '{"tenants": {"acme": {"tmp_mb": 1024}}}')
    assert SandboxSettings().sandbox_ceilings.of("acme").tmp_mb == 1024


def test_what_the_services_ask_today_fits_the_default_ceilings() -> None:
    from bdg_tester.settings import TesterSettings
    from bdg_tools.catalog import RunCommand

    tester = TesterSettings()
    for timeout in (tester.bdg_test_install_timeout_seconds, tester.bdg_test_run_timeout_seconds):
        assert over_ceilings(tester.limits(timeout), Ceilings()) == []
    longest_tool_call = RunCommand.model_fields["timeout_s"].metadata
    assert any(getattr(m, "le", None) == Ceilings().timeout_s for m in longest_tool_call)
    assert over_ceilings(Limits(timeout_s=120, pids=512), Ceilings()) == []  # bench/agent_judge

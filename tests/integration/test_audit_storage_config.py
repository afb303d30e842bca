"""The gateway's audit routes read the configured S3 and never start a SeaweedFS of their own
(one started there was never stopped); with no endpoint they say which setting is missing."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.gateway_stack import Keys

pytestmark = pytest.mark.timeout(60)


async def test_no_endpoint_is_a_503_naming_the_setting_and_starts_nothing(
    client: httpx.AsyncClient, keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("BDG_S3_ENDPOINT", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)  # the environment, not our code
    monkeypatch.setenv("BDG_HOME", str(tmp_path))
    for path in ("/agent/audit/keys", "/agent/audit/verify"):
        answer = await client.get(path, headers=keys.headers("acme"))
        assert answer.status_code == 503, answer.text
        assert "BDG_S3_ENDPOINT" in answer.json()["detail"]
    assert not (tmp_path / "s3.json").exists()
    assert not (tmp_path / "s3").exists()

"""The tester's settings (environment variables), beside the runtime's AGENT_SANDBOX_ENDPOINT."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from bdg_contracts.sandbox import Limits
from bdg_tester.browser.plan import BrowserMode


class TesterSettings(BaseSettings):
    __test__ = False  # not a pytest class

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    bdg_test_install_timeout_seconds: float = Field(
        default=600.0, gt=0, le=86400, description="one install command (with registry egress)"
    )
    bdg_test_run_timeout_seconds: float = Field(
        default=600.0, gt=0, le=86400, description="one project's test command"
    )
    bdg_test_progress_seconds: float = Field(
        default=2.0, gt=0, le=3600, description="how often a running install reports progress"
    )
    bdg_test_memory_mb: int = Field(default=2048, ge=64, le=65536)
    bdg_test_cpus: float = Field(default=2.0, gt=0, le=64)
    bdg_test_step_timeout_seconds: float = Field(
        default=1800.0, gt=0, description="a whole test run (all projects), then it is retried"
    )

    bdg_test_require_failing_first: Literal["on", "off"] = Field(
        default="on",
        description="a behaviour change needs a test that fails on the base code and passes on "
        "the change (a tenant's policy `require_failing_first` wins)",
    )
    bdg_test_browser_check: BrowserMode = Field(
        default=BrowserMode.auto,
        description="browser check of a built web app after its tests pass: auto (a Vite or "
        "React project with a build script), always (any Node project with one), never",
    )
    bdg_test_chromium: str = Field(
        default="/usr/bin/chromium",
        pattern=r"^/[^\x00]{0,255}$",
        description="the Chromium the check runs in the sandbox; missing: the check is skipped",
    )
    bdg_test_artifacts_dir: Path = Field(
        default=Path(".bdg/artifacts/tests"), description="screenshots of the browser checks"
    )

    def limits(self, timeout_s: float) -> Limits:
        return Limits(
            memory_mb=self.bdg_test_memory_mb,
            cpus=self.bdg_test_cpus,
            pids=1024,  # test runners' worker threads count as pids
            tmp_mb=512,
            timeout_s=timeout_s,
        )

"""The live stack's process seals with the services' master key (a bench run with --home once
wrote JobRequested under ./.bdg's key, and the planner and tester could not read a job)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bdg_cli.live_stack import home_of_this_process
from bdg_jobs.personal.master import master_key, master_key_file


def test_the_run_s_home_is_this_process_s_until_undone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BDG_MASTER_KEY", raising=False)
    monkeypatch.delenv("BDG_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    run_home = tmp_path / "run"
    undo = home_of_this_process(run_home)
    assert master_key() == master_key_file(run_home)  # the key the services' BDG_HOME holds
    assert not (tmp_path / ".bdg").exists()
    undo()

    assert "BDG_HOME" not in os.environ


def test_undo_restores_the_home_set_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BDG_HOME", str(tmp_path / "mine"))
    undo = home_of_this_process(tmp_path / "run")
    undo()

    assert os.environ["BDG_HOME"] == str(tmp_path / "mine")

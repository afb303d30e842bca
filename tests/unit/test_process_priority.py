"""Niceness only ever goes up (a process cannot take back priority without privileges), and the
loop choice is what the setting says."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
import uvloop

from bdg_runtime.process_priority import default_nice, loop_factory, session_nice
from bdg_runtime.settings import Settings

PROBE = """
import os
from bdg_runtime.process_priority import lower_priority
print(lower_priority(7), lower_priority(2), os.getpriority(os.PRIO_PROCESS, 0))
"""


def test_priority_is_lowered_once_and_never_raised_back() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["7", "7", "7"]


SESSION_PROBE = """
import os
from bdg_runtime.process_priority import lower_session_priority, session_nice
print(lower_session_priority(7), lower_session_priority(2), session_nice())
"""


# On this project's CI machine; not judged by our own session, which may be the boot session's
# root autogroup (no niceness of its own) while a new session still gets an autogroup.
ENABLED = Path("/proc/sys/kernel/sched_autogroup_enabled")
AUTOGROUPS = ENABLED.exists() and ENABLED.read_text().strip() == "1"


def test_a_session_leader_lowers_its_sessions_priority_once() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SESSION_PROBE],
        capture_output=True,
        text=True,
        check=True,
        start_new_session=True,  # as `bdg up` starts a service
    )
    assert out.stdout.split() == (["7", "7", "7"] if AUTOGROUPS else ["None"] * 3)


def test_a_process_that_shares_its_session_leaves_it_alone() -> None:
    ours = session_nice()
    out = subprocess.run(
        [sys.executable, "-c", SESSION_PROBE], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == [str(ours)] * 3
    assert session_nice() == ours


def test_the_gateway_answers_first_and_workers_yield() -> None:
    assert default_nice("gateway") == 0
    assert {default_nice(s) for s in ("planner", "coder", "tester", "indexer", "auditor")} == {10}


def test_loop_choices() -> None:
    assert loop_factory("asyncio") is None
    for choice in ("auto", "uvloop"):
        factory = loop_factory(choice)
        assert factory is not None
        loop = factory()
        try:
            assert isinstance(loop, uvloop.Loop)
        finally:
            loop.close()
    with asyncio.Runner(loop_factory=loop_factory("auto")) as runner:
        assert runner.run(asyncio.sleep(0, "ran")) == "ran"


@pytest.mark.parametrize("env", [{"BDG_NICE": "20"}, {"BDG_NICE": "-1"}, {"BDG_EVENT_LOOP": "x"}])
def test_bad_settings_are_refused(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValueError, match=r"bdg_nice|bdg_event_loop"):
        Settings()

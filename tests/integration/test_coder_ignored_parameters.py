"""A rewrite adding a parameter that some of its results ignore is asked for once more, against
a real sandboxd, PostgreSQL and NATS, the model scripted through the fake OpenAI server: the
retry names the parameter and the result that misses it; an answer that uses it everywhere
lands; one that ignores it again lands as sent (asked once, as dropped uses are)."""

from __future__ import annotations

from pathlib import Path

import pytest
from nats.aio.client import Client

from bdg_contracts import events as ev
from bdg_jobs.application import JobApplication
from bdg_sandbox.client import SandboxClient
from tests.fakes.openai_server import FakeOpenAi
from tests.integration.test_coder_loop import (  # noqa: F401 (fixtures)
    app_fixture,
    applied,
    attempt,
    coding_job,
    daemon_fixture,
    fake_fixture,
    nc_fixture,
    of,
    repo_fixture,
    sandbox_fixture,
)
from tests.integration.test_coder_rewrite import code, committed, replays, rewriting

pytestmark = pytest.mark.timeout(90)
SORTLINES = (
    "def sort_lines(lines, *, numeric=False):\n"
    "    return sorted(lines, key=float) if numeric else sorted(lines)\n"
)
GOAL = "Give sort_lines() in sortlines.py a keyword argument reverse (default False)."
PLAN = "- [ ] `sortlines.py`: add reverse to sort_lines()"
HALF = (
    "def sort_lines(lines, *, numeric=False, reverse=False):\n"
    "    return sorted(lines, key=float) if numeric else sorted(lines, reverse=reverse)"
)
WHOLE = (
    "def sort_lines(lines, *, numeric=False, reverse=False):\n"
    "    return sorted(lines, key=float if numeric else None, reverse=reverse)"
)
TEST = 'def test_reverse():\n    assert sort_lines(["a", "b"], reverse=True) == ["b", "a"]'


async def sortlines_after(
    app: JobApplication,
    sandbox: SandboxClient,
    nc: Client,
    fake: FakeOpenAi,
    repo: Path,
    tmp_path: Path,
    second: str,
) -> str:
    """sortlines.py after a job whose first answer ignored reverse when numeric and whose
    second is ``second`` (the job replays to the same events)."""
    committed(repo, {"sortlines.py": SORTLINES, "test_sortlines.py": "from sortlines import *\n"})
    trigger = await coding_job(app, repo, GOAL, PLAN)
    fake.push(code(HALF), code(second), code(TEST))
    new = await attempt(rewriting(fake, sandbox, nc, check=None), app, trigger)
    (changed,) = of(new, ev.FilesChanged)
    await replays(app, trigger)
    return (applied(repo, changed.patch, tmp_path) / "sortlines.py").read_text()


async def test_an_answer_whose_new_parameter_misses_a_result_is_asked_again(
    app: JobApplication,
    sandbox: SandboxClient,
    nc: Client,
    fake: FakeOpenAi,
    repo: Path,
    tmp_path: Path,
) -> None:
    after = await sortlines_after(app, sandbox, nc, fake, repo, tmp_path, WHOLE)
    said = fake.requests[1]["messages"][-1]["content"]
    assert said == (
        "That code could not be used: its new parameter `reverse` does not reach every "
        "result: when `numeric`, it returns `sorted(lines, key=float)`, which does not use "
        "`reverse`; what the goal asks of `reverse` must hold there too. Send the complete "
        "new definition of `sort_lines` again, corrected."
    )
    assert after == f"{WHOLE}\n"


async def test_an_answer_that_ignores_it_again_lands_as_sent(
    app: JobApplication,
    sandbox: SandboxClient,
    nc: Client,
    fake: FakeOpenAi,
    repo: Path,
    tmp_path: Path,
) -> None:
    after = await sortlines_after(app, sandbox, nc, fake, repo, tmp_path, HALF)
    assert after == f"{HALF}\n"

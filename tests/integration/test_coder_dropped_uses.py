"""A rewrite that loses keys or calls the definition has is asked for once more, against a real
sandboxd, PostgreSQL and NATS, the model scripted through the fake OpenAI server: the retry
names the keys; an answer that keeps them lands; one that drops them again lands as sent (the
goal may mean it)."""

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
CONFIG = 'import os\n\n\ndef load():\n    return {"host": os.environ.get("HOST", "127.0.0.1")}\n'
GOAL = 'Extend load() in config.py with a "port" entry read from PORT, 8000 when unset.'
PLAN = "- [ ] `config.py`: add the port to load()"
FIXED_HOST = (
    'def load():\n    return {"host": "127.0.0.1", "port": int(os.environ.get("PORT") or 8000)}'
)
KEPT_HOST = (
    "def load():\n"
    '    host = os.environ.get("HOST", "127.0.0.1")\n'
    '    return {"host": host, "port": int(os.environ.get("PORT") or 8000)}'
)
PORT_TEST = 'def test_port():\n    assert load()["port"] == 8000'


async def config_after(
    app: JobApplication,
    sandbox: SandboxClient,
    nc: Client,
    fake: FakeOpenAi,
    repo: Path,
    tmp_path: Path,
    second: str,
) -> str:
    """config.py after a job whose first answer fixed the host and whose second is ``second``
    (the job replays to the same events)."""
    committed(repo, {"config.py": CONFIG, "test_config.py": "from config import load\n"})
    trigger = await coding_job(app, repo, GOAL, PLAN)
    fake.push(code(FIXED_HOST), code(second), code(PORT_TEST))
    new = await attempt(rewriting(fake, sandbox, nc, check=None), app, trigger)
    (changed,) = of(new, ev.FilesChanged)
    await replays(app, trigger)
    return (applied(repo, changed.patch, tmp_path) / "config.py").read_text()


async def test_an_answer_that_drops_a_key_is_asked_again_naming_it(
    app: JobApplication,
    sandbox: SandboxClient,
    nc: Client,
    fake: FakeOpenAi,
    repo: Path,
    tmp_path: Path,
) -> None:
    after = await config_after(app, sandbox, nc, fake, repo, tmp_path, KEPT_HOST)
    said = fake.requests[1]["messages"][-1]["content"]
    assert said == (
        "That code could not be used: it no longer uses `HOST`, which `load` uses now; keep "
        "what it does now and add what the goal asks. Send the complete new definition of "
        "`load` again, corrected."
    )
    assert after == f"import os\n\n\n{KEPT_HOST}\n"


async def test_an_answer_that_drops_the_key_again_lands_as_sent(
    app: JobApplication,
    sandbox: SandboxClient,
    nc: Client,
    fake: FakeOpenAi,
    repo: Path,
    tmp_path: Path,
) -> None:
    after = await config_after(app, sandbox, nc, fake, repo, tmp_path, FIXED_HOST)
    assert after == f"import os\n\n\n{FIXED_HOST}\n"

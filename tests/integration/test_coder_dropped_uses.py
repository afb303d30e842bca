"""A rewrite that loses keys or calls the definition has, adds a parameter some of its
results ignore, or needs one the goal lets callers leave out, is asked for once more, against a
real sandboxd, PostgreSQL and NATS, the model scripted through the fake OpenAI server: the
retry names what is missing; an answer that mends it lands; one that does it again lands as
sent (the goal may mean it). One that lost the docstring gets it back with no turn."""

from __future__ import annotations

from pathlib import Path

import pytest
from nats.aio.client import Client

from bdg_coder.pipeline.prompts import REWRITE_SYSTEM
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
FIXED_HOST = (
    'def load():\n    return {"host": "127.0.0.1", "port": int(os.environ.get("PORT") or 8000)}'
)
KEPT_HOST = (
    "def load():\n"
    '    host = os.environ.get("HOST", "127.0.0.1")\n'
    '    return {"host": host, "port": int(os.environ.get("PORT") or 8000)}'
)
PORT_TEST = 'def test_port():\n    assert load()["port"] == 8000'


SORTLINES = (
    "def sort_lines(lines, *, numeric=False):\n"
    "    return sorted(lines, key=float) if numeric else sorted(lines)\n"
)
REVERSE_GOAL = "Give sort_lines() in sortlines.py a keyword argument reverse (default False)."
HALF = (
    "def sort_lines(lines, *, numeric=False, reverse=False):\n"
    "    return sorted(lines, key=float) if numeric else sorted(lines, reverse=reverse)"
)
WHOLE = (
    "def sort_lines(lines, *, numeric=False, reverse=False):\n"
    "    return sorted(lines, key=float if numeric else None, reverse=reverse)"
)
REVERSE_TEST = 'def test_reverse():\n    assert sort_lines(["a", "b"], reverse=True) == ["b", "a"]'


async def after_job(
    app: JobApplication,
    sandbox: SandboxClient,
    nc: Client,
    fake: FakeOpenAi,
    repo: Path,
    tmp_path: Path,
    answers: tuple[str, ...],
    module: tuple[str, str, str] = ("config.py", CONFIG, GOAL),
) -> str:
    """``module``'s text (path, text, goal) after a job answered ``answers``: the
    definitions, then a test (the job replays to the same events)."""
    path, text, goal = module
    test_file = f"test_{path}"
    committed(repo, {path: text, test_file: f"from {path.removesuffix('.py')} import *\n"})
    trigger = await coding_job(app, repo, goal, f"- [ ] `{path}`: change it as the goal asks")
    fake.push(*(code(answer) for answer in answers))
    new = await attempt(rewriting(fake, sandbox, nc, check=None), app, trigger)
    (changed,) = of(new, ev.FilesChanged)
    await replays(app, trigger)
    return (applied(repo, changed.patch, tmp_path) / path).read_text()


async def test_an_answer_that_drops_a_key_is_asked_again_naming_it(
    app: JobApplication,
    sandbox: SandboxClient,
    nc: Client,
    fake: FakeOpenAi,
    repo: Path,
    tmp_path: Path,
) -> None:
    after = await after_job(
        app, sandbox, nc, fake, repo, tmp_path, (FIXED_HOST, KEPT_HOST, PORT_TEST)
    )
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
    after = await after_job(
        app, sandbox, nc, fake, repo, tmp_path, (FIXED_HOST, FIXED_HOST, PORT_TEST)
    )
    assert after == f"import os\n\n\n{FIXED_HOST}\n"


async def test_an_answer_that_lost_the_docstring_lands_with_it(
    app: JobApplication,
    sandbox: SandboxClient,
    nc: Client,
    fake: FakeOpenAi,
    repo: Path,
    tmp_path: Path,
) -> None:
    documented = 'def mul(a, b):\n    """The product of a and b."""\n    return a + b\n'
    module = ("ops.py", documented, "Fix mul() in ops.py: it adds.")
    test = "def test_mul():\n    assert mul(2, 3) == 6"
    answers = ("def mul(a, b): return a * b", test)
    after = await after_job(app, sandbox, nc, fake, repo, tmp_path, answers, module)
    assert after == 'def mul(a, b):\n    """The product of a and b."""\n    return a * b\n'
    asked = [r for r in fake.requests if r["messages"][0]["content"] == REWRITE_SYSTEM]
    assert len(asked) == 1  # no turn asked for it


WORDS = "def capitalize(text):\n    return text[:1].upper() + text[1:]\n"
PLURAL_GOAL = (
    "Add pluralize(count, singular, plural) to words.py: it returns '1 apple' for a count of "
    "1 and '2 apples' otherwise, using plural when given and singular + 's' when not."
)
NEEDS = "def pluralize(count, singular, plural):\n    return f'{count} {plural}'"
COPES = "def pluralize(count, singular, plural=None):\n    return f'{count} {plural}'"
PLURAL_TEST = "def test_pluralize():\n    assert pluralize(2, 'child', 'children') == '2 children'"


REVERSE_WHY = (
    "its new parameter `reverse` does not reach every result: when `numeric`, it returns "
    "`sorted(lines, key=float)`, which does not use `reverse`; what the goal asks of `reverse` "
    "must hold there too"
)
PLURAL_WHY = (
    "the goal says `plural` may be left out, but `pluralize` uses it as if it were always "
    "given; give `plural` a default or handle it missing as the goal says"
)
SORTLINES_CASE = (("sortlines.py", SORTLINES, REVERSE_GOAL), REVERSE_TEST, "sort_lines", "")
WORDS_CASE = (("words.py", WORDS, PLURAL_GOAL), PLURAL_TEST, "pluralize", f"{WORDS}\n\n")


@pytest.mark.parametrize(
    ("case", "first", "second", "why"),
    [
        (SORTLINES_CASE, HALF, WHOLE, REVERSE_WHY),  # mended
        (SORTLINES_CASE, HALF, HALF, REVERSE_WHY),  # ignored again: lands as sent
        (WORDS_CASE, NEEDS, COPES, PLURAL_WHY),  # mended
        (WORDS_CASE, NEEDS, NEEDS, PLURAL_WHY),  # needed again: lands as sent
    ],
)
async def test_an_answer_whose_parameter_the_code_mishandles_is_asked_again(
    app: JobApplication,
    sandbox: SandboxClient,
    nc: Client,
    fake: FakeOpenAi,
    repo: Path,
    tmp_path: Path,
    case: tuple[tuple[str, str, str], str, str, str],
    first: str,
    second: str,
    why: str,
) -> None:
    """A new parameter some result ignores, or one the goal lets callers leave out and the
    code needs."""
    module, test, symbol, kept = case
    after = await after_job(app, sandbox, nc, fake, repo, tmp_path, (first, second, test), module)
    said = fake.requests[1]["messages"][-1]["content"]
    assert said == (
        f"That code could not be used: {why}. Send the complete new definition of `{symbol}` "
        "again, corrected."
    )
    assert after == f"{kept}{second}\n"

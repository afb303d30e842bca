"""Retrieved code as a prompt block: rank order, the token budget, fences that hold."""

from __future__ import annotations

import pytest

from bdg_contracts import tool_events as tev
from bdg_llm.code_context import render_code_context
from bdg_llm.tokens import count_text
from bdg_planner.code_context import ContextNotRecordedError, RecordedCodeContext
from tests.unit.jobs import CAUSE, new_job


def hit(path: str, snippet: str, score: float = 0.5) -> tev.CodeHit:
    return tev.CodeHit(
        path=path, start_line=1, end_line=snippet.count("\n") + 1, snippet=snippet, score=score,
        language="python",
    )  # fmt: skip


def test_hits_are_rendered_best_first_with_their_place() -> None:
    text = render_code_context([hit("a.py", "def a(): ...", 0.9), hit("b.py", "def b(): ...")])
    assert text.index("a.py:1-1 (score 0.90)") < text.index("b.py:1-1 (score 0.50)")
    assert "```python\ndef a(): ...\n```" in text


def test_the_budget_keeps_what_fits_in_rank_order() -> None:
    big = hit("big.py", "x = 1\n" * 400, 0.9)
    small = hit("small.py", "y = 2", 0.1)
    text = render_code_context([big, small], token_budget=100)
    assert "small.py" in text
    assert "big.py" not in text
    assert count_text(text) <= 100
    assert render_code_context([big], token_budget=10) == ""


def test_a_snippet_with_backticks_gets_a_longer_fence() -> None:
    text = render_code_context([hit("doc.md", "```sh\nls\n```")])
    assert "````python\n```sh\nls\n```\n````" in text


async def test_a_replay_shows_the_recorded_code_and_refuses_what_was_not_retrieved() -> None:
    job = new_job()
    found = (hit("a.py", "def a(): ..."),)
    job.record_code_context(CAUSE, query="build it", repo="https://git.example/r", hits=found)
    recorded = RecordedCodeContext(job.collect())
    again = await recorded.retrieve("tenant-a", "https://git.example/r", "build it")
    assert again.hits == found
    with pytest.raises(ContextNotRecordedError, match="retrieved no code"):
        await recorded.retrieve("tenant-a", "https://git.example/r", "build it")

"""Retrieved code as a prompt block: rank order, the token budget, fences that hold; and a
replay shows the code the recorded run was shown."""

from __future__ import annotations

import pytest

from bdg_contracts import tool_events as tev
from bdg_llm.code_context import fence_for, render_code_context, render_hit
from bdg_llm.tokens import count_text
from bdg_tools.code_context import ContextNotRecordedError, RecordedCodeContext
from tests.unit.jobs import CAUSE, new_job


def hit(path: str, snippet: str = "", score: float = 0.5) -> tev.CodeHit:
    snippet = snippet or f"# {path}"
    return tev.CodeHit(
        path=path, start_line=1, end_line=snippet.count("\n") + 1, snippet=snippet, score=score,
        language="python",
    )  # fmt: skip


def test_a_hit_renders_as_a_header_and_a_fenced_block() -> None:
    rendered = render_hit(hit("pkg/mod.py", score=0.0327))
    assert rendered == "pkg/mod.py:1-1 (0.033)\n```python\n# pkg/mod.py\n```\n"


def test_the_fence_outgrows_backticks_in_the_code() -> None:
    assert fence_for("plain") == "```"
    assert fence_for('doc = """\n````md\n```\n"""') == "`````"
    assert "````python\n```sh\nls\n```\n````" in render_hit(hit("doc.md", "```sh\nls\n```"))


def test_hits_stay_in_rank_order_within_the_budget() -> None:
    hits = [hit(f"f{n}.py") for n in range(5)]
    one = count_text(render_hit(hits[0]))
    block = render_code_context(hits, token_budget=2 * one + 1)
    assert block == render_hit(hits[0]) + "\n" + render_hit(hits[1])
    assert count_text(block) <= 2 * one + 1
    assert render_code_context(hits, token_budget=one - 1) == ""
    big = hit("big.py", "x = 1\n" * 500)
    assert render_code_context([big, hits[0]], token_budget=one) == render_hit(hits[0])
    assert render_code_context([], token_budget=100) == ""


async def test_a_replay_shows_the_recorded_code_and_refuses_what_was_not_retrieved() -> None:
    job = new_job()
    found = (hit("a.py", "def a(): ..."),)
    job.record_code_context(CAUSE, query="build it", repo="https://git.example/r", hits=found)
    recorded = RecordedCodeContext(job.collect())
    again = await recorded.retrieve("tenant-a", "https://git.example/r", "build it")
    assert again.hits == found
    with pytest.raises(ContextNotRecordedError, match="retrieved no code"):
        await recorded.retrieve("tenant-a", "https://git.example/r", "build it")

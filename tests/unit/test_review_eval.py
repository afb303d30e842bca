"""The reviewer evaluation's own arithmetic: which changes it asks about, how it counts verdicts
per half, and the server speed it reads from llama.cpp's log."""

from __future__ import annotations

from pathlib import Path

from bench.agent_tasks.tasks import load_tasks
from bench.review_eval import Verdict, review_cases, server_speed, summary, wrong_changes

LOG = """\
0.30.021 I slot print_timing: id  0 | task 0 | prompt eval time =   2000.00 ms /   100 tokens
0.30.022 I slot print_timing: id  0 | task 0 |        eval time =   1000.00 ms /    20 tokens
0.40.000 I slot print_timing: id  0 | task 1 | prompt eval time =   2000.00 ms /    20 tokens
0.40.001 I slot print_timing: id  0 | task 1 |        eval time =   1000.00 ms /    10 tokens
"""


def verdict(split: str, right: bool, approved: bool) -> Verdict:
    return Verdict("t", split, right, approved, 9, "", 100, 10, 2.0)


def test_each_task_gives_its_solution_and_only_its_own_wrong_changes() -> None:
    tasks = [t for t in load_tasks() if t.id in {"py-config-port", "js-chunk", "js-clamp-fix"}]
    cases = review_cases(tasks)
    assert [(c.task_id, c.right) for c in cases] == [
        ("js-chunk", True),
        ("js-clamp-fix", True),
        ("py-config-port", True),
        ("js-chunk", False),
        ("py-config-port", False),
    ]
    wrong = {c.task_id: c for c in wrong_changes()}
    assert wrong["py-config-port"].why == "An empty PORT raises instead of giving 8000."
    assert wrong["py-config-port"].split == "dev"
    assert wrong["js-chunk"].split == "heldout"


def test_the_summary_counts_right_approvals_and_wrong_rejections_per_half() -> None:
    verdicts = [
        verdict("dev", True, True),
        verdict("dev", True, False),
        verdict("dev", False, False),
        verdict("heldout", False, True),
    ]
    assert summary(verdicts) == [
        "dev: right changes approved 1/2, wrong ones rejected 1/1; 300 prompt and 30 answer "
        "tokens, 6 s",
        "heldout: right changes approved 0/0, wrong ones rejected 0/1; 100 prompt and 10 answer "
        "tokens, 2 s",
    ]


def test_the_server_speed_is_read_from_every_timing_line(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text(LOG)
    assert server_speed(log) == (
        "server: read 120 prompt tokens at 30.0 tokens/s, wrote 30 at 15.0 tokens/s"
    )

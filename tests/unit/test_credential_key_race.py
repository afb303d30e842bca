"""The deploy credentials' key is created once, whole, however many processes start at once
(gateway workers, issue #11): before, one created the file empty and wrote it next, and another
read it empty in between, a configuration error that stopped that worker for good."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bdg_jobs.deploy_credentials import KEY_FILE, load_key

STARTERS, ROUNDS = 8, 60  # failed 109 rounds of 200 before the fix


def test_starters_at_once_all_read_one_whole_key(tmp_path: Path) -> None:
    for n in range(ROUNDS):
        home = tmp_path / str(n)
        barrier = threading.Barrier(STARTERS)

        def start(home: Path = home, barrier: threading.Barrier = barrier) -> bytes:
            barrier.wait()
            return load_key(home, {})

        with ThreadPoolExecutor(STARTERS) as pool:
            keys = {future.result() for future in [pool.submit(start) for _ in range(STARTERS)]}
        assert len(keys) == 1
        assert [p.name for p in home.iterdir()] == [KEY_FILE]  # nothing left aside

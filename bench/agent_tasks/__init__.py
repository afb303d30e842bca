"""Small coding tasks for benchmarking the agent end to end, with hidden acceptance tests.

Each `<task-id>/` holds `task.toml`, the repository (`repo/`), the hidden tests (`hidden/`) and a
reference `solution.patch`; `tasks.py` loads them.
"""

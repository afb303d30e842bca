"""Settings from the environment."""

import os


def load() -> dict[str, object]:
    return {"host": os.environ.get("HOST", "127.0.0.1")}

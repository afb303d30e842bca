import os

from config import load


def test_host_default() -> None:
    os.environ.pop("HOST", None)
    assert load()["host"] == "127.0.0.1"

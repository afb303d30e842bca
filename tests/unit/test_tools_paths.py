"""Paths the file tools accept: the workspace's own, named relative or under its mount point."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bdg_tools.catalog import FileRead, FileWrite, ListFiles

pytestmark = pytest.mark.timeout(10)


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("/workspace/calc.py", "calc.py"),
        ("/workspace/pkg/util.py", "pkg/util.py"),
        ("/workspace//pkg/a.py", "pkg/a.py"),
        ("calc.py", "calc.py"),
    ],
)
def test_a_path_under_the_mount_point_is_the_workspace_file(given: str, meant: str) -> None:
    assert FileWrite(path=given, content="x = 1\n").path == meant
    assert FileRead(path=given).path == meant


def test_the_mount_point_itself_is_the_workspace_root() -> None:
    assert ListFiles(path="/workspace").path == "."
    assert ListFiles(path="/workspace/").path == "."


@pytest.mark.parametrize(
    "outside",
    ["/etc/passwd", "/workspace/../etc/passwd", "/workspaces/x.py", "/workspace2/a.py", "../a.py"],
)
def test_nothing_outside_the_workspace_is_accepted(outside: str) -> None:
    with pytest.raises(ValidationError, match="relative to the workspace root"):
        FileWrite(path=outside, content="")

"""An exec's ``cwd`` is refused at the contract when the kernel would refuse it (found by
schemathesis: a 256-byte name reached runc and came back as a 502)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bdg_contracts import sandbox as sb


def deep(length: int) -> str:
    """An absolute path of ``length`` characters, each name within 255."""
    path = ""
    while len(path) < length:
        path += "/" + "x" * min(255, length - len(path) - 1)
    return path


@pytest.mark.parametrize(
    "cwd", ["/", "/workspace", "/workspace/", "/a/b/c", "/" + "x" * 255, deep(4095)]
)
def test_a_cwd_the_kernel_takes_is_accepted(cwd: str) -> None:
    assert sb.Exec(id="r1", tenant="t", workspace="w", argv=["true"], cwd=cwd).cwd == cwd


@pytest.mark.parametrize(
    "cwd",
    [
        *("/" + "0" * 256, "/ok/" + "é" * 128, "//", "relative", "/a\x00b", "/a//b"),
        *(deep(4096), "/é" * 2048),  # PATH_MAX counts the NUL; bytes, not characters
    ],
)
def test_a_cwd_the_kernel_refuses_is_a_validation_error_naming_cwd(cwd: str) -> None:
    with pytest.raises(ValidationError) as refused:
        sb.Exec(id="r1", tenant="t", workspace="w", argv=["true"], cwd=cwd)
    assert refused.value.errors()[0]["loc"] == ("cwd",)

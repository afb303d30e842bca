"""The vocabulary of failure analysis: causes, and what a rule concludes from a text."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class Cause(StrEnum):
    dependency = "dependency"  # installing dependencies failed: the environment, not the code
    build = "build"  # syntax or compile error: nothing runs until it is fixed
    import_error = "import"  # a module that cannot be found or imported
    discovery = "discovery"  # the runner found no tests
    timeout = "timeout"
    signature = "signature"  # a call with the wrong arguments
    exception = "exception"  # another error raised while running
    assertion = "assertion"  # the code ran and gave another result than the test expects
    unknown = "unknown"


@dataclass(frozen=True)
class Diagnosis:
    cause: Cause
    key: str = ""
    hint: str = ""
    expected: str | None = None
    actual: str | None = None
    diff: str = ""


Rule = Callable[[str, str], Diagnosis | None]


def search(pattern: str, text: str, flags: int = re.M) -> re.Match[str] | None:
    return re.search(pattern, text, flags)

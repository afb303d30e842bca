"""A definition without its body (pure): what the test's author is shown of the change.

A small model shown the changed code writes a test of what that code does, right or wrong, and
the pair passes together (on the agent bench, a pluralize() that dropped the count reached the
deploy approval with a test asserting exactly that). Shown only the names and parameters, it
has the goal alone to say what the result must be: the test is written from the request, as a
person doing test-first work would, and so can fail on a wrong change.
"""

from __future__ import annotations

import textwrap

MAX_HEADER_LINES = 8  # a signature longer than this is cut: its parameters are shown enough


def signature(path: str, definition: str) -> str:
    """The head of ``definition`` (a function, method or class) with its body left out:
    Python up to the line ending the ``def``/``class`` header (``:``), JavaScript up to the
    first ``{`` or ``=>``; decorators kept. "" for an empty definition."""
    lines = textwrap.dedent(definition).strip("\n").splitlines()
    if not lines:
        return ""
    python = path.endswith(".py")
    head: list[str] = []
    for line in lines[:MAX_HEADER_LINES]:
        code = line.split("#", 1)[0].rstrip() if python else line.rstrip()
        if python and code.endswith(":") and not code.lstrip().startswith("@"):
            head.append(code)
            return "\n".join(head) + "\n" + _body_marker(head)
        if not python and ("{" in code or "=>" in code):
            cut = min(i for i in (code.find("{"), code.find("=>")) if i != -1)
            token = "{" if code[cut] == "{" else "=>"
            head.append(code[:cut].rstrip() + f" {token} ... " + ("}" if token == "{" else ""))
            return "\n".join(head).rstrip() + "\n"
        head.append(line.rstrip())
    return "\n".join(head) + "\n"


def _body_marker(head: list[str]) -> str:
    """``...`` indented under the header's first line (after any decorators)."""
    first = next((line for line in head if not line.lstrip().startswith("@")), head[0])
    return " " * (len(first) - len(first.lstrip()) + 4) + "...\n"

"""What a whole-file write drops: the top-level definitions the old content had and the new one
has not (pure).

``file_write`` replaces the whole file. Small models often send only the function they changed,
and the rest of the module is gone: the result of the write says which names went, so the model
can put them back (or use ``apply_patch``) before the tests fail on imports.
"""

from __future__ import annotations

import re

_PY = re.compile(
    r"^(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)|^([A-Za-z_]\w*)\s*(?::[^=\n]*)?=", re.M
)
_JS = re.compile(
    r"^(?:export\s+)?(?:default\s+)?(?:async\s+)?(?:function\*?|class|const|let|var)\s+"
    r"([A-Za-z_$][\w$]*)",
    re.M,
)
_LANGUAGES = {".py": _PY, ".pyi": _PY, ".js": _JS, ".mjs": _JS, ".cjs": _JS, ".ts": _JS,
              ".tsx": _JS, ".jsx": _JS}  # fmt: skip
MAX_NAMED = 12


def top_level_names(path: str, text: str) -> list[str]:
    """The names a module defines at its top level, in order ([] for a kind we do not read)."""
    suffix = path[path.rfind(".") :] if "." in path else ""
    pattern = _LANGUAGES.get(suffix.lower())
    if pattern is None:
        return []
    names: list[str] = []
    for match in pattern.finditer(text):
        name = next(group for group in match.groups() if group)
        if name not in names:
            names.append(name)
    return names


def dropped_note(path: str, old: str, new: str) -> str:
    """A warning when ``new`` lost top-level definitions ``old`` had; "" when it kept them."""
    kept = set(top_level_names(path, new))
    gone = [name for name in top_level_names(path, old) if name not in kept]
    if not gone:
        return ""
    shown = ", ".join(gone[:MAX_NAMED]) + (", ..." if len(gone) > MAX_NAMED else "")
    return (
        f"file_write replaced the whole file, and it no longer defines {shown}, which it did "
        "before. If that was not intended, write the file again with everything that should "
        "stay, or change only what you mean to with apply_patch."
    )

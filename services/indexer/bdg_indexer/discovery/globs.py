"""Which paths a repository's include/exclude globs choose (pure).

The globs are compiled once to regexes; a bad glob is a ValueError that says what is wrong with
it, so the API can refuse a filter before anything is stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_INCLUDE = ("*.js", "*.ts", "*.jsx", "*.tsx", "*.py", "*.md")
DEFAULT_MAX_FILE_BYTES = 1024 * 1024


class IndexFilter(BaseModel):
    """Per-repository choice of files. Globs (``fnmatch``-like, with ``**``):

    - without ``/``, a glob matches the file name at any depth (``*.py``, ``Makefile``);
    - with ``/``, it matches the whole path from the repository root (``src/*.ts``), where
      ``**`` is any number of directories (``src/**/*.ts``, ``**/tests/*.py``);
    - a trailing ``/`` names a directory and matches everything under it: ``docs/`` at any
      depth, ``src/gen/`` only there.
    ``include``/``exclude`` also accept one comma-separated string. ``skip_generated=False``
    keeps what looks generated or vendored (``GENERATED_DIRS``, minified, lock files, headers).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    include: tuple[str, ...] = DEFAULT_INCLUDE
    exclude: tuple[str, ...] = ()
    max_file_bytes: int = Field(default=DEFAULT_MAX_FILE_BYTES, gt=0)
    skip_generated: bool = True

    @field_validator("include", "exclude", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("include", "exclude")
    @classmethod
    def _check_globs(cls, globs: tuple[str, ...]) -> tuple[str, ...]:
        for glob in globs:
            _compile_glob(glob)  # raises ValueError naming the glob and what is wrong
        return globs

    @field_validator("include")
    @classmethod
    def _check_include(cls, globs: tuple[str, ...]) -> tuple[str, ...]:
        if not globs:
            raise ValueError("include must list at least one glob (nothing would be indexed)")
        return globs

    def matches(self, path: str) -> bool:
        def any_match(globs: Iterable[str]) -> bool:
            return any(_compile_glob(glob).fullmatch(path) for glob in globs)

        return any_match(self.include) and not any_match(self.exclude)


@lru_cache(maxsize=1024)
def _compile_glob(glob: str) -> re.Pattern[str]:
    """The regex of a glob (see ``IndexFilter``); ValueError saying what is wrong with it."""
    if not glob.strip():
        raise _bad_glob(glob, "it is empty")
    if glob != glob.strip():
        raise _bad_glob(glob, "leading or trailing whitespace would never match")
    if "\\" in glob or "\0" in glob:
        raise _bad_glob(glob, "use '/' between directories; no backslashes or NUL bytes")
    if glob.startswith("/"):
        raise _bad_glob(glob, "globs are relative to the repository root; drop the leading '/'")
    directory = glob.endswith("/")
    segments = glob.rstrip("/").split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        raise _bad_glob(glob, "empty, '.' or '..' path segments are not allowed")
    regex = "" if len(segments) > 1 else "(?:.*/)?"  # no '/': the name, at any depth
    for number, segment in enumerate(segments, start=1):
        last = number == len(segments)
        if segment == "**":
            regex += ".*" if last else "(?:.*/)?"
        elif "**" in segment:
            raise _bad_glob(glob, "'**' must be a whole path segment, like 'src/**/*.py'")
        else:
            regex += _segment_regex(glob, segment) + ("" if last else "/")
    if directory:
        regex += "/.*"
    try:
        return re.compile(regex, re.DOTALL)
    except re.error as exc:  # e.g. a reversed range [z-a]
        raise _bad_glob(glob, str(exc)) from exc


def _segment_regex(glob: str, segment: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(segment):
        char = segment[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            negate = segment[i + 1 : i + 2] in ("!", "^")
            first = i + 2 if negate else i + 1
            close = segment.find("]", first + 1)  # a ']' right after '[' is a member
            if close == -1:
                raise _bad_glob(glob, "'[' opens a character class that is never closed")
            members = segment[first:close]
            escaped = "".join("\\" + c if c in "\\[]^" else c for c in members)
            out.append(f"[{'^/' if negate else ''}{escaped}]")
            i = close
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def _bad_glob(glob: str, why: str) -> ValueError:
    return ValueError(f"bad glob {glob!r}: {why}")

"""The built-in tools: arguments and result models, descriptions, approval defaults.

``tools.json`` is generated from ``BUILTIN`` (``python -m bdg_tools.generate``). Optional
arguments are nullable: in strict mode every property is required, and ``null`` means "default".
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from bdg_tools.spec import Environment, Tool

DEPLOY_PROVIDER_VARIABLE = "BDG_DEPLOY_PROVIDER"


# Where the sandbox mounts the workspace (commands run there): models that saw it in a command's
# output name files as ``/workspace/app.py``, which is the workspace's ``app.py``.
WORKSPACE_MOUNT = "/workspace"


def _relative(path: str) -> str:
    if path == WORKSPACE_MOUNT or path.startswith(f"{WORKSPACE_MOUNT}/"):
        path = path[len(WORKSPACE_MOUNT) :].lstrip("/") or "."
    parts = PurePosixPath(path).parts
    if path.startswith("/") or ".." in parts:
        raise ValueError(
            f"use a path relative to the workspace root (or under {WORKSPACE_MOUNT}/), without '..'"
        )
    return path


RelPath = Annotated[
    str,
    Field(min_length=1, max_length=4096, description="path relative to the workspace root"),
    AfterValidator(_relative),
]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# -- arguments ------------------------------------------------------------------------------------
class FileRead(Model):
    path: RelPath
    start_line: int | None = Field(default=None, ge=1, description="first line (1-based)")
    end_line: int | None = Field(default=None, ge=1, description="last line, inclusive")


class FileWrite(Model):
    path: RelPath
    content: str = Field(description="the whole new content of the file")


class EditFile(Model):
    path: RelPath
    search: str = Field(
        min_length=1, description="lines of the file as they are now, exactly; must occur once"
    )
    replace: str = Field(description="what those lines become (empty: delete them)")


class ReplaceSymbol(Model):
    path: RelPath
    symbol: str = Field(
        min_length=1,
        max_length=300,
        description="the function or class to replace: name, or Class.method for a method",
    )
    code: str = Field(
        min_length=1,
        max_length=60_000,
        description="its whole new definition (decorators included), defining the same name",
    )


class ApplyPatch(Model):
    patch: str = Field(min_length=1, description="a unified diff (git diff format)")


class ListFiles(Model):
    path: RelPath | None = Field(default=None, description="directory; null = workspace root")


class SearchCode(Model):
    query: str = Field(min_length=1, max_length=2000, description="what the code does or says")
    limit: int | None = Field(default=None, ge=1, le=50, description="at most this many hits")


class RunCommand(Model):
    argv: list[str] = Field(min_length=1, description="program and arguments, no shell")
    timeout_s: float | None = Field(default=None, gt=0, le=1800, description="seconds")


class RunTests(Model):
    path: RelPath | None = Field(default=None, description="a test file or directory")
    argv: list[str] | None = Field(
        default=None, description="the test command; null = the project's default (pytest)"
    )


class Deploy(Model):
    target: str | None = Field(
        default=None, description="environment to deploy to; null = the configured default"
    )
    note: str | None = Field(default=None, max_length=2000, description="why, for the approver")


# -- results --------------------------------------------------------------------------------------
class FileContent(Model):
    path: str
    content: str
    total_lines: int
    truncated: bool = False


class FileWritten(Model):
    path: str
    bytes_written: int
    note: str = Field(default="", description="a warning about the write, e.g. what it dropped")


class FileEdited(Model):
    path: str
    line: int = Field(description="the first line of the replaced text")
    lines_removed: int
    lines_added: int


class SymbolReplaced(Model):
    path: str
    symbol: str = Field(description="the function or class replaced (Class.method for a method)")
    line: int = Field(description="the first line of its new definition")
    lines_removed: int
    lines_added: int
    note: str = Field(default="", description="what was kept or why nothing changed")


class PatchApplied(Model):
    paths: list[str]


class Entry(Model):
    path: str
    size: int
    is_dir: bool


class FileList(Model):
    path: str
    entries: list[Entry]
    truncated: bool = False


class CodeHit(Model):
    path: str
    start_line: int
    end_line: int
    snippet: str
    score: float


class CodeSearch(Model):
    available: bool = Field(description="false when no index answered")
    hits: list[CodeHit] = Field(default_factory=list)
    note: str = ""


class CommandResult(Model):
    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool = False
    truncated: bool = False


class TestRun(Model):
    __test__: ClassVar[bool] = False  # not a pytest class

    passed: bool
    exit_code: int | None
    output_tail: str


class Deployment(Model):
    url: str
    target: str


def has_deploy_provider(env: Environment) -> bool:
    return bool(env.get(DEPLOY_PROVIDER_VARIABLE, "").strip())


FILE_READ = Tool(
    "file_read",
    "Read a text file of the workspace, whole or a range of lines.",
    FileRead,
    FileContent,
)
FILE_WRITE = Tool(
    "file_write",
    "Create or overwrite a file of the workspace with the given content.",
    FileWrite,
    FileWritten,
)
EDIT_FILE = Tool(
    "edit_file",
    "Change part of a file: replace the one place where `search` occurs (copied exactly from "
    "the file) with `replace`. Nothing changes if it occurs 0 or several times, or if the file "
    "would no longer parse; the error says which.",
    EditFile,
    FileEdited,
)
REPLACE_SYMBOL = Tool(
    "replace_symbol",
    "Replace a whole function, method (`Class.method`) or class of a Python, JavaScript or "
    "TypeScript file with new code that defines the same name; the rest of the file stays as "
    "it is. Nothing changes if the name is not found, the code defines something else, or the "
    "file would no longer parse; the error says which.",
    ReplaceSymbol,
    SymbolReplaced,
)
APPLY_PATCH = Tool(
    "apply_patch",
    "Apply a unified diff to the workspace; nothing changes if any hunk does not apply.",
    ApplyPatch,
    PatchApplied,
)
LIST_FILES = Tool(
    "list_files",
    "List the files and directories under a directory of the workspace.",
    ListFiles,
    FileList,
)
SEARCH_CODE = Tool(
    "search_code",
    "Search the repository's index for code related to a query (meaning, not exact text).",
    SearchCode,
    CodeSearch,
)
RUN_COMMAND = Tool(
    "run_command",
    "Run a program in the sandbox (no network) in the workspace and return its output.",
    RunCommand,
    CommandResult,
    approval="gate",
)
RUN_TESTS = Tool(
    "run_tests",
    "Run the project's tests (or some of them) in the sandbox and report whether they pass.",
    RunTests,
    TestRun,
)
DEPLOY = Tool(
    "deploy",
    "Deploy the workspace with the configured deploy provider; a person approves it first.",
    Deploy,
    Deployment,
    approval="gate",
    requires=has_deploy_provider,
)

BUILTIN: tuple[Tool[Any, Any], ...] = (
    FILE_READ,
    FILE_WRITE,
    EDIT_FILE,
    REPLACE_SYMBOL,
    APPLY_PATCH,
    LIST_FILES,
    SEARCH_CODE,
    RUN_COMMAND,
    RUN_TESTS,
    DEPLOY,
)

"""Source locations in tracebacks, stacks and compiler output, innermost first.

Python tracebacks list the outermost call first; JS, Java, Go and Rust stacks the innermost.
Frames in installed dependencies and runtimes are recognised, so a failure points at the
project's own code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Frame:
    file: str
    line: int
    column: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


# outermost first
_PY = [
    re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)'),
    # pytest's short form: "tests/test_ops.py:11: AssertionError", "src/x.py:6: in f"
    re.compile(r"^(?P<file>[^\s:][^:\n]*?\.py):(?P<line>\d+):(?: |$)", re.M),
]
# innermost first
_OTHERS = [
    # node, a module that does not load: "file:///workspace/src/a.js:2" above the source line
    re.compile(r"^file://(?P<file>/[^\s:]+?\.[cm]?[jt]sx?):(?P<line>\d+)$", re.M),
    re.compile(
        r"\bat (?:[^\n(]*? \()?(?:file://)?"
        r"(?P<file>[^\s()]+?\.[cm]?[jt]sx?):(?P<line>\d+):(?P<column>\d+)\)?"
    ),
    # vitest points at the failing line with U+276F
    re.compile("\u276f " r"(?P<file>[^\s:]+?\.[cm]?[jt]sx?):(?P<line>\d+):(?P<column>\d+)"),
    re.compile(r"panicked at (?:'.*?', )?(?P<file>[^\s:]+\.rs):(?P<line>\d+):(?P<column>\d+)"),
    re.compile(r"--> (?P<file>[^\s:]+\.rs):(?P<line>\d+):(?P<column>\d+)"),
    re.compile(r"^\s*(?P<file>[\w./-]+\.go):(?P<line>\d+)(?::(?P<column>\d+))?: ", re.M),
    re.compile(r"^\t(?P<file>/[^\s:]+\.go):(?P<line>\d+)", re.M),
    re.compile(r"^(?P<file>[\w./-]+\.tsx?)\((?P<line>\d+),(?P<column>\d+)\): error", re.M),
    re.compile(r"^(?P<file>[\w./-]+\.(?:java|kt)):(?P<line>\d+): error:", re.M),
]
_JAVA = re.compile(
    r"\bat (?:[\w.$/@-]+/)?(?P<cls>[\w.$]+)\.[\w$<>]+"
    r"\((?P<file>[\w$]+\.(?:java|kt|groovy|scala)):(?P<line>\d+)\)"
)
_LIBRARY = (
    "site-packages/", "dist-packages/", "node_modules/", "/usr/lib/", "/usr/local/lib/",
    "/lib/python", "<frozen", "node:", "<anonymous>", "/rustc/", "/.cargo/registry/",
    "/go/pkg/mod/", "/usr/local/go/", "/usr/lib/go", "/.pyenv/", "/.rustup/", "internal/",
)  # fmt: skip
_JAVA_LIBRARY = (
    "java.", "javax.", "jdk.", "sun.", "org.junit.", "junit.", "org.opentest4j.",
    "org.apache.maven.", "org.gradle.", "kotlin.", "org.hamcrest.", "org.assertj.", "worker.",
)  # fmt: skip


def is_project_file(path: str) -> bool:
    return not any(marker in path for marker in _LIBRARY)


def relative_to(path: str, root: str) -> str:
    """`path` relative to the project root when it lies inside it (stacks print absolute paths)."""
    path = path.removeprefix("file://")
    root = root.rstrip("/")
    if root and path.startswith(root + "/"):
        path = path[len(root) + 1 :]
    return path.removeprefix("./")


def _frame(match: re.Match[str], root: str, file: str | None = None) -> Frame:
    column = match.groupdict().get("column")
    path = relative_to(file or match["file"], root)
    return Frame(path, int(match["line"]), int(column) if column else None)


def frames(text: str, root: str = "") -> list[Frame]:
    """Every location in `text`, innermost first, duplicates dropped."""
    found: list[Frame] = []
    python = [m for rx in _PY for m in rx.finditer(text)]
    python.sort(key=lambda m: m.start())
    found += [_frame(m, root) for m in reversed(python)]
    others = [m for rx in _OTHERS for m in rx.finditer(text)]
    others.sort(key=lambda m: m.start())
    found += [_frame(m, root) for m in others]
    for m in _JAVA.finditer(text):
        cls = m["cls"].split("$")[0]
        if cls.startswith(_JAVA_LIBRARY):
            found.append(Frame(f"<library>/{m['file']}", int(m["line"])))
            continue
        package = cls.rsplit(".", 1)[0].replace(".", "/") if "." in cls else ""
        found.append(Frame(f"{package}/{m['file']}" if package else m["file"], int(m["line"])))
    unique: list[Frame] = []
    for frame in found:
        if frame not in unique:
            unique.append(frame)
    return unique


def best_frame(text: str, root: str = "") -> Frame | None:
    """The innermost frame in the project's own files; else the innermost frame at all."""
    all_frames = frames(text, root)
    own = [f for f in all_frames if is_project_file(f.file) and not f.file.startswith("<library>")]
    if own:
        return own[0]
    return all_frames[0] if all_frames else None


def calling_frame(text: str, root: str, inner: Frame | None) -> Frame | None:
    """The outermost frame in the project's own files (the test's line that made the call,
    with the input in it) when the failure points elsewhere (``inner``: the code it called);
    None when they are the same line. A small model told only "SyntaxError at
    src/color.js:11" (the throw) cannot tell which input reached it."""
    own = [f for f in frames(text, root) if is_project_file(f.file)]
    own = [f for f in own if not f.file.startswith("<library>")]
    if inner is None or not own or _same_line(own[-1], inner):
        return None
    return own[-1]


def _same_line(a: Frame, b: Frame) -> bool:
    """One place, one path relative and the other absolute (a report's root may differ)."""
    paths = a.file == b.file or a.file.endswith(f"/{b.file}") or b.file.endswith(f"/{a.file}")
    return a.line == b.line and paths

"""The language of a file, from its extension: it picks how the chunker cuts the file."""

from __future__ import annotations

from pathlib import PurePosixPath

PYTHON = "python"
JAVASCRIPT = "javascript"
JSX = "jsx"
TYPESCRIPT = "typescript"
TSX = "tsx"
MARKDOWN = "markdown"
TEXT = "text"

# Only the first six have a syntax-aware chunker; the others are named so that search results
# and the index status can say what a file is, and are cut by lines.
EXTENSIONS: dict[str, str] = {
    ".py": PYTHON,
    ".pyi": PYTHON,
    ".js": JAVASCRIPT,
    ".mjs": JAVASCRIPT,
    ".cjs": JAVASCRIPT,
    ".jsx": JSX,
    ".ts": TYPESCRIPT,
    ".mts": TYPESCRIPT,
    ".cts": TYPESCRIPT,
    ".tsx": TSX,
    ".md": MARKDOWN,
    ".markdown": MARKDOWN,
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".hpp": "cpp",
    ".cs": "csharp",
    ".css": "css",
    ".go": "go",
    ".html": "html",
    ".java": "java",
    ".json": "json",
    ".kt": "kotlin",
    ".rb": "ruby",
    ".rs": "rust",
    ".sh": "shell",
    ".sql": "sql",
    ".swift": "swift",
    ".toml": "toml",
    ".txt": TEXT,
    ".yaml": "yaml",
    ".yml": "yaml",
}


def language_for_path(path: str) -> str:
    """The language of ``path`` (a repository path with ``/``), ``"text"`` when unknown."""
    return EXTENSIONS.get(PurePosixPath(path).suffix.lower(), TEXT)

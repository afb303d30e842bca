"""The chunker: syntax-aware cuts per language, and its hard invariants under random input."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bdg_indexer.chunking.chunker import chunk_file, propose_cuts
from bdg_indexer.chunking.cuts import SYNTAX_MIN, text_cuts
from bdg_indexer.chunking.syntax import syntax_cuts
from bdg_indexer.chunking.tokens import MIN_MAX_TOKENS, _longest_fitting_end, split_long_line
from bdg_indexer.chunks import Chunk, SourceFile
from bdg_llm.tokens import count_text

pytestmark = pytest.mark.timeout(60)


def source(text: str, language: str = "python", path: str = "pkg/mod.py") -> SourceFile:
    return SourceFile(path=path, blob_sha="0" * 40, language=language, text=text)


def file_lines(text: str) -> list[str]:
    """Lines as the contract numbers them: split on "\\n"; a final newline ends the last line."""
    lines = text.split("\n")
    return lines[:-1] if text.endswith("\n") else lines


def check_invariants(src: SourceFile, chunks: list[Chunk], max_tokens: int) -> None:
    lines = file_lines(src.text)
    assert [c.number for c in chunks] == list(range(len(chunks)))
    whole_lines: set[int] = set()
    pieces: dict[int, list[str]] = {}
    for previous, chunk in zip([None, *chunks], chunks, strict=False):
        assert (chunk.path, chunk.blob_sha, chunk.language) == (
            src.path,
            src.blob_sha,
            src.language,
        )
        assert chunk.token_count == count_text(chunk.text) <= max_tokens
        assert 1 <= chunk.start_line <= chunk.end_line <= len(lines)
        assert chunk.text.strip()
        if chunk.text == "\n".join(lines[chunk.start_line - 1 : chunk.end_line]):
            assert lines[chunk.start_line - 1].strip()
            assert lines[chunk.end_line - 1].strip()
            whole_lines.update(range(chunk.start_line, chunk.end_line + 1))
        else:  # a piece of one line over the cap
            assert chunk.start_line == chunk.end_line
            pieces.setdefault(chunk.start_line, []).append(chunk.text)
        if previous is not None:
            assert chunk.start_line >= previous.start_line
            assert chunk.end_line >= previous.end_line
            same_line_pieces = chunk.start_line == previous.end_line == chunk.end_line
            assert chunk.start_line > previous.start_line or same_line_pieces
    for number, texts in pieces.items():
        assert number not in whole_lines
        line, at, gaps = lines[number - 1], 0, []
        for text in texts:  # consecutive pieces; only whitespace may be left out between them
            found = line.find(text, at)
            assert found >= 0
            gaps.append(line[at:found])
            at = found + len(text)
        gaps.append(line[at:])
        assert not "".join(gaps).strip()
    for number, line in enumerate(lines, start=1):
        if line.strip():
            assert number in whole_lines or number in pieces, f"line {number} not covered"


def chunked(
    text: str, language: str = "python", max_tokens: int = 512, overlap_lines: int = 3
) -> list[Chunk]:
    src = source(text, language)
    chunks = chunk_file(src, max_tokens=max_tokens, overlap_lines=overlap_lines)
    check_invariants(src, chunks, max_tokens)
    return chunks


def method(name: str, statements: int = 6) -> str:
    body = "".join(f"        total += self.{name}_{i} * {i}\n" for i in range(statements))
    return f"    def {name}(self) -> int:\n        total = 0\n{body}        return total\n"


# --- Python -----------------------------------------------------------------------------------


def test_small_functions_are_merged_into_one_chunk() -> None:
    text = "import os\n\n\ndef a() -> int:\n    return 1\n\n\ndef b() -> int:\n    return 2\n"
    chunks = chunked(text)
    assert [(c.start_line, c.end_line) for c in chunks] == [(1, 9)]
    assert chunks[0].text == text.rstrip("\n")


def test_a_large_class_is_cut_between_its_methods_without_overlap() -> None:
    methods = "\n".join(method(f"m{i}") for i in range(12))
    text = f'class Totals:\n    """Sums."""\n\n{methods}'
    chunks = chunked(text, max_tokens=200)
    lines = file_lines(text)
    assert len(chunks) > 3
    assert chunks[0].text.startswith('class Totals:\n    """Sums."""\n\n    def m0')
    for before, chunk in pairwise(chunks):
        assert lines[chunk.start_line - 1].startswith("    def m")
        assert chunk.start_line > before.end_line  # members: clean cuts, no overlap


def test_comments_and_decorators_stay_with_the_function_below() -> None:
    filler = "\n".join(method(f"f{i}").replace("    ", "", 1) for i in range(3))
    text = (
        f"{filler}\n\n# Explains g.\n# More about g.\n@functools.cache\n@other\n"
        "def g() -> int:\n    return 1\n"
    )
    chunks = chunked(text, max_tokens=120)
    starts = {file_lines(text)[c.start_line - 1] for c in chunks}
    assert "# Explains g." in starts
    assert not starts & {"# More about g.", "@functools.cache", "@other", "def g() -> int:"}


def test_a_large_function_is_cut_between_statements_with_a_little_overlap() -> None:
    body = "".join(f"    value_{i} = compute({i}, value_{max(i - 1, 0)})\n" for i in range(80))
    text = f"def long_function() -> None:\n{body}    return None\n"
    chunks = chunked(text, max_tokens=150, overlap_lines=2)
    assert len(chunks) > 3
    assert chunks[0].start_line == 1
    for before, chunk in pairwise(chunks):
        overlap = before.end_line - chunk.start_line + 1
        assert 1 <= overlap <= 2


def test_no_overlap_when_asked_for_none() -> None:
    body = "".join(f"    value_{i} = compute({i})\n" for i in range(80))
    chunks = chunked(f"def f() -> None:\n{body}", max_tokens=100, overlap_lines=0)
    for before, chunk in pairwise(chunks):
        assert chunk.start_line == before.end_line + 1


def test_a_syntax_error_falls_back_to_lines_and_prefers_blank_lines() -> None:
    paragraphs = [
        "\n".join(f"def broken_{p}_{i}(:  # not python" for i in range(6)) for p in range(8)
    ]
    text = "\n\n".join(paragraphs) + "\n"
    assert syntax_cuts("python", text, file_lines(text)) is None
    assert propose_cuts("python", text, file_lines(text)) == text_cuts(file_lines(text))
    chunks = chunked(text, max_tokens=80, overlap_lines=0)
    for chunk in chunks:  # each chunk is whole paragraphs (7 lines apart)
        assert (chunk.start_line - 1) % 7 == 0


def test_deeply_nested_code_does_not_hit_the_recursion_limit() -> None:
    depth = 1500
    text = "x = " + "[\n" * depth + "1" + "\n]" * depth + "\n"
    lines = file_lines(text)
    # The parse is walked to the bottom (an explicit stack), not given up for plain lines.
    assert syntax_cuts("python", text, lines) is not None
    chunks = chunked(text, max_tokens=64)  # checks the invariants: bounded, every line covered
    assert len(chunks) > 1
    assert (chunks[0].start_line, chunks[-1].end_line) == (1, len(lines))
    assert chunks[0].text.startswith("x = [")


# --- JavaScript / TypeScript ------------------------------------------------------------------

JS_CLASS = """\
import { api } from "./api";

/** A cart. */
export class Cart {
  items = [];

  add(item) {
    this.items.push(item);
    api.log("added", item.id, item.name, item.price);
    return this.items.length;
  }

  remove(item) {
    this.items = this.items.filter((other) => other.id !== item.id);
    api.log("removed", item.id, item.name, item.price);
    return this.items.length;
  }

  total() {
    return this.items.reduce((sum, item) => sum + item.price * item.quantity, 0);
  }
}

export function empty() {
  return new Cart();
}
"""


@pytest.mark.parametrize("language", ["javascript", "jsx", "typescript", "tsx"])
def test_a_js_class_is_cut_at_its_methods(language: str) -> None:
    chunks = chunked(JS_CLASS, language, max_tokens=64)
    lines = file_lines(JS_CLASS)
    starts = [lines[c.start_line - 1] for c in chunks]
    assert starts[0] == 'import { api } from "./api";'
    assert "  remove(item) {" in starts
    assert "  total() {" in starts
    assert "export function empty() {" in starts or starts[-1] == "  total() {"
    assert all(not start.strip().startswith(("}", "return", "api.")) for start in starts)


def test_tsx_components_and_interfaces_parse() -> None:
    text = """\
interface Props {
  title: string;
  items: string[];
}

export function List({ title, items }: Props) {
  return (
    <section>
      <h1>{title}</h1>
      <ul>
        {items.map((item) => (
          <li key={item}>{item}</li>
        ))}
      </ul>
    </section>
  );
}
"""
    lines = file_lines(text)
    cuts = syntax_cuts("tsx", text, lines)
    assert cuts is not None
    assert syntax_cuts("typescript", text, lines) is None  # JSX is not plain TypeScript
    syntax = {lines[i].strip() for i, s in enumerate(cuts.strength) if s >= SYNTAX_MIN}
    assert syntax == {"items: string[];", "export function List({ title, items }: Props) {", "<ul>"}
    chunks = chunked(text, "tsx", max_tokens=40)
    for before, chunk in pairwise(chunks):
        if chunk.start_line <= before.end_line:  # an overlap never starts with a closer
            assert not lines[chunk.start_line - 1].strip().startswith(("</", ")", "}"))


# --- Markdown ---------------------------------------------------------------------------------


def test_markdown_is_cut_at_headings_and_fences_hide_hashes() -> None:
    section = "Some words about this part of the guide, long enough to matter a bit.\n"
    text = (
        f"# Guide\n\n{section}\n## Install\n\n{section}\n```sh\n# not a heading\nrun it\n```\n\n"
        f"## Use\n\n{section}\nUsage\n-----\n\n{section}"
    )
    chunks = chunked(text, "markdown", max_tokens=40)
    lines = file_lines(text)
    starts = [lines[c.start_line - 1] for c in chunks]
    assert starts == ["# Guide", "## Install", "## Use", "Usage"]


def test_a_large_markdown_section_is_cut_at_paragraphs() -> None:
    paragraphs = [
        f"Paragraph {p} says something. " * 3 + f"\nIt goes on over line two of {p}."
        for p in range(10)
    ]
    text = "# Title\n\n" + "\n\n".join(paragraphs) + "\n"
    chunks = chunked(text, "markdown", max_tokens=90, overlap_lines=0)
    lines = file_lines(text)
    assert len(chunks) > 2
    for chunk in chunks[1:]:
        assert lines[chunk.start_line - 1].startswith("Paragraph")


# --- Plain text, long lines, edge cases -------------------------------------------------------


def test_a_huge_single_line_is_split_inside_by_tokens() -> None:
    line = "data = '" + "lorem ipsum dolor sit amet " * 2000 + "'"
    chunks = chunked(line + "\n", max_tokens=100)
    assert len(chunks) > 10
    assert {(c.start_line, c.end_line) for c in chunks} == {(1, 1)}
    assert "".join(c.text for c in chunks) == line


def test_a_long_line_between_short_ones_keeps_its_neighbours_whole() -> None:
    text = "first = 1\n" + "x = [" + "1, " * 3000 + "]\nlast = 2\n"
    chunks = chunked(text, max_tokens=200)
    assert chunks[0].text == "first = 1"
    assert chunks[-1].text == "last = 2"


def test_split_long_line_handles_multibyte_characters() -> None:
    line = "🙂é中" * 400
    pieces = split_long_line(line, MIN_MAX_TOKENS)
    assert "".join(pieces) == line
    assert all(count_text(piece) <= MIN_MAX_TOKENS for piece in pieces)


def test_crlf_lines_keep_their_carriage_returns() -> None:
    text = "a = 1\r\nb = 2\r\n"
    [chunk] = chunked(text, "text")
    assert chunk.text == "a = 1\r\nb = 2\r"
    assert (chunk.start_line, chunk.end_line) == (1, 2)


@pytest.mark.parametrize("text", ["", "\n", "   \n\t\n", "\n\n\n"])
def test_blank_files_have_no_chunks(text: str) -> None:
    assert chunked(text) == []


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        chunk_file(source("x = 1\n"), max_tokens=MIN_MAX_TOKENS - 1)
    with pytest.raises(ValueError, match="overlap_lines"):
        chunk_file(source("x = 1\n"), overlap_lines=-1)


# --- Properties -------------------------------------------------------------------------------

PYTHON_LINES = [
    "import os",
    "def f(x):",
    "    return x + 1",
    "class A(B):",
    "    def m(self):",
    "        pass",
    "    @property",
    "# a comment",
    "@decorator",
    "x = [",
    "    1, 2, 3,",
    "]",
    "if x:",
    "    y = {'a': 1}",
    "else:",
    '"""doc',
    'string"""',
    "",
    "",
]
JS_LINES = [
    "function f(a) {",
    "  return a + 1;",
    "}",
    "export class A extends B {",
    "  m() { return 1; }",
    "  n() {",
    "  }",
    "// comment",
    "const x = <div>",
    "  <span>{x}</span>",
    "</div>;",
    "interface I { a: string }",
    "",
    "",
]
MARKDOWN_LINES = [
    "# Title",
    "## Part",
    "Some text in a paragraph.",
    "- an item",
    "```",
    "# not a heading",
    "---",
    "===",
    "",
    "",
]
huge_lines = st.builds(
    lambda unit, times: unit * times,
    st.sampled_from(["a", "ab ", "é", "🙂", " ", "x=1;", "\t", "中文", "\r"]),
    st.integers(min_value=50, max_value=800),
)
free_lines = st.text(st.characters(blacklist_characters="\n"), max_size=60)


def documents(known_lines: list[str]) -> st.SearchStrategy[str]:
    known = st.sampled_from(known_lines)
    line = st.one_of(known, known, known, free_lines, huge_lines)
    # A drawn length first: plain st.lists stays tiny on average, real files are not.
    lines = st.integers(min_value=0, max_value=60).flatmap(
        lambda size: st.lists(line, min_size=size, max_size=size)
    )
    return st.builds(
        lambda drawn, newline: "\n".join(drawn) + newline, lines, st.sampled_from(["", "\n"])
    )


CASES = st.one_of(
    st.tuples(documents(PYTHON_LINES), st.just("python")),
    st.tuples(documents(JS_LINES), st.sampled_from(["javascript", "jsx", "typescript", "tsx"])),
    st.tuples(documents(MARKDOWN_LINES), st.just("markdown")),
    st.tuples(
        st.text(max_size=2000),
        st.sampled_from(["python", "javascript", "tsx", "markdown", "text", "go"]),
    ),
)
PROPERTY_SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(
    case=CASES,
    max_tokens=st.integers(min_value=MIN_MAX_TOKENS, max_value=300),
    overlap_lines=st.integers(min_value=0, max_value=5),
)
def test_chunks_keep_every_invariant(
    case: tuple[str, str], max_tokens: int, overlap_lines: int
) -> None:
    text, language = case
    src = source(text, language)
    check_invariants(src, chunk_file(src, max_tokens, overlap_lines), max_tokens)


@settings(max_examples=100, deadline=None)
@given(
    line=st.one_of(huge_lines, st.text(st.characters(blacklist_characters="\n"), max_size=500)),
    max_tokens=st.integers(min_value=MIN_MAX_TOKENS, max_value=64),
)
def test_split_long_line_pieces_fit_and_join_to_the_line(line: str, max_tokens: int) -> None:
    pieces = split_long_line(line, max_tokens)
    assert "".join(pieces) == line
    assert all(piece and count_text(piece) <= max_tokens for piece in pieces)
    if line:  # the fallback when a guessed piece counts more on its own
        end = _longest_fitting_end(line, 0, len(line) + 1, max_tokens)
        assert 0 < end <= len(line)
        assert count_text(line[:end]) <= max_tokens

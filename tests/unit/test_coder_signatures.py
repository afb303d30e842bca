"""What the test's author is shown of the change: each definition's head, never its body."""

from __future__ import annotations

from bdg_coder.pipeline.signatures import signature


def test_a_python_function_keeps_its_decorators_and_parameters_and_loses_its_body() -> None:
    code = "@cache\ndef f(a,\n      b=2) -> int:  # why\n    '''Doc.'''\n    return a + b\n"
    assert signature("m.py", code) == "@cache\ndef f(a,\n      b=2) -> int:\n    ...\n"


def test_a_method_is_shown_dedented_and_a_class_by_its_bases() -> None:
    assert signature("m.py", "    def total(self) -> int:\n        return 1\n") == (
        "def total(self) -> int:\n    ...\n"
    )
    assert signature("m.py", "class EmptyStackError(IndexError):\n    pass\n") == (
        "class EmptyStackError(IndexError):\n    ...\n"
    )


def test_a_javascript_function_is_cut_at_its_brace_or_arrow() -> None:
    assert signature("a.js", "export function chunk(items, size) {\n  return [];\n}\n") == (
        "export function chunk(items, size) { ... }\n"
    )
    assert signature("a.js", "const add = (a, b) => a + b;\n") == "const add = (a, b) => ...\n"
    several = "function f(\n  a,\n  b\n) {\n  return a;\n}\n"
    assert signature("a.js", several) == "function f(\n  a,\n  b\n) { ... }\n"


def test_no_body_line_is_ever_shown() -> None:
    body = "return secret_of_the_code"
    for path, code in (
        ("m.py", f"def f(x):\n    {body}\n"),
        ("m.js", f"function f(x) {{ {body}; }}\n"),
        ("m.js", f"export const f = (x) => {{\n  {body};\n}};\n"),
    ):
        assert body not in signature(path, code)
    assert signature("m.py", "") == ""

"""Whole-symbol edits on model answers in their recorded form (written by hand: the tool is new,
so no model has answered with it yet): the good ones replace exactly the symbol and leave every
other byte, the broken ones (wrong name, two definitions, a syntax error, a dropped decorator,
more than the definition) change nothing and say exactly why."""

from __future__ import annotations

import json

import pytest

from bdg_llm.toolcalls import ToolCallError, parse_tool_call
from bdg_tools.catalog import ReplaceSymbol
from bdg_tools.symbols.lookup import SymbolError, clean_name
from bdg_tools.symbols.replace import UNCHANGED, replace_symbol

pytestmark = pytest.mark.timeout(10)
TOOLS = {"replace_symbol": ReplaceSymbol}
CALC = '''\
"""Calculator — café edition."""  # non-ASCII first: spans are UTF-8 byte offsets
import functools


def add(a, b):
    return a - b


class Calc:
    """Keeps a total."""

    @functools.cache
    def mul(self, a, b):
        return a + b  # wrong on purpose
        # TODO: floats

    def total(self):
        return 0


class Till:
    def total(self):
        return 1
'''
JS = """\
import { tax } from "./tax.js";

export function sum(a, b) {
  return a - b;
}

export const double = (x) => x + x;

class Cart {
  total(items) {
    return 0;
  }
}
"""
TS = """\
export class Shop {
  private items: number[] = [];

  @log()
  public add(price: number): void {
    this.items.push(price);
  }
}
"""


def answer(path: str, symbol: str, code: str) -> ReplaceSymbol:
    """A model's answer under the tool-union schema, as recorded, parsed as the coder does."""
    arguments = {"path": path, "symbol": symbol, "code": code}
    name, parsed = parse_tool_call(json.dumps({"tool": "replace_symbol", "arguments": arguments}),
                                   TOOLS)  # fmt: skip
    assert name == "replace_symbol"
    assert isinstance(parsed, ReplaceSymbol)
    return parsed


def replaced(content: str, call: ReplaceSymbol) -> str:
    return replace_symbol(call.path, content, call.symbol, call.code).content


def refusal(content: str, call: ReplaceSymbol) -> str:
    with pytest.raises(SymbolError) as caught:
        replace_symbol(call.path, content, call.symbol, call.code)
    message = str(caught.value)
    assert message.endswith("Nothing was changed.")
    return message


def test_a_function_is_replaced_and_every_other_byte_stays() -> None:
    call = answer("/workspace/calc.py", "add", "def add(a, b):\n    return a + b\n")
    assert call.path == "calc.py"
    done = replace_symbol(call.path, CALC, call.symbol, call.code)
    assert done.content == CALC.replace("return a - b", "return a + b")
    assert (done.symbol, done.line, done.lines_removed, done.lines_added) == ("add", 5, 2, 2)
    assert done.note == ""


@pytest.mark.parametrize("indent", ["", "    ", "        "])
def test_a_method_lands_at_its_class_s_indentation_however_the_model_indented_it(
    indent: str,
) -> None:
    code = f"{indent}@functools.cache\n{indent}def mul(self, a, b):\n{indent}    return a * b"
    call = answer("calc.py", "Calc.mul", code)
    old = "return a + b  # wrong on purpose\n        # TODO: floats"
    assert replaced(CALC, call) == CALC.replace(old, "return a * b")


def test_the_comments_at_the_end_of_a_body_go_with_it() -> None:
    code = "def mul(self, a, b):\n    return a * b"
    done = replace_symbol("calc.py", CALC, "Calc.mul", code)
    old = "        return a + b  # wrong on purpose\n        # TODO: floats\n"
    assert done.content == CALC.replace(old, "        return a * b\n")
    assert (done.lines_removed, done.lines_added) == (4, 3)  # the kept decorator counts
    js = "function sum(a, b) {\n  return a + b;\n}"
    commented = JS.replace("return a - b;\n}", "return a - b;\n} // wrong")
    assert replaced(commented, answer("cart.js", "sum", js)) == JS.replace("a - b", "a + b")


def test_a_dropped_decorator_is_kept_and_the_result_says_so() -> None:
    call = answer("calc.py", "Calc.mul", "def mul(self, a, b):\n    return a * b\n")
    done = replace_symbol(call.path, CALC, call.symbol, call.code)
    old = "return a + b  # wrong on purpose\n        # TODO: floats"
    assert done.content == CALC.replace(old, "return a * b")
    assert "@functools.cache" in done.note
    # a decorator the model does send replaces the old ones
    new = "@functools.lru_cache\ndef mul(self, a, b):\n    return a * b"
    swapped = replaced(CALC, answer("calc.py", "Calc.mul", new))
    assert "    @functools.lru_cache\n    def mul(self, a, b):\n        return a * b\n" in swapped
    assert "@functools.cache" not in swapped


def test_the_wrong_name_is_refused_and_names_both() -> None:
    message = refusal(CALC, answer("calc.py", "add", "def plus(a, b):\n    return a + b"))
    assert message.startswith("the new code defines plus, not add")


def test_two_definitions_are_refused() -> None:
    code = "def add(a, b):\n    return _sum(a, b)\n\n\ndef _sum(a, b):\n    return a + b\n"
    message = refusal(CALC, answer("calc.py", "add", code))
    assert "defines 2 things (function add, function _sum); it must define only add" in message
    twice = "def add(a, b):\n    return a + b\n\n\ndef add(a, b):\n    return b + a\n"
    assert "defines 2 things (function add, function add)" in refusal(
        CALC, answer("calc.py", "add", twice)
    )


def test_a_syntax_error_in_the_new_code_is_refused_with_its_line() -> None:
    message = refusal(CALC, answer("calc.py", "add", "def add(a, b)\n    return a + b"))
    assert message.startswith("the new code does not parse (line 1: expected ':')")
    js = refusal(JS, answer("cart.js", "sum", "function sum(a, b) {\n  return (a + b;\n}"))
    assert js.startswith("the new code does not parse (a syntax error at line 2)")


def test_a_name_not_found_lists_what_the_file_defines() -> None:
    message = refusal(CALC, answer("calc.py", "mull", "def mull(self, a, b):\n    return a * b"))
    assert "no function or class named 'mull' in calc.py; it defines: add, Calc, Calc.mul, " in (
        message
    )
    assert "Did you mean Calc.mul?" in message


def test_a_method_two_classes_share_asks_for_class_dot_method() -> None:
    code = "def total(self):\n    return 2"
    message = refusal(CALC, answer("calc.py", "total", code))
    assert "total names 2 definitions in calc.py: Calc.total (line 17), Till.total (line 22)" in (
        message
    )
    assert "as Class.method" in message
    assert replaced(CALC, answer("calc.py", "Till.total", code)) == CALC.replace(
        "return 1", "return 2"
    )


def test_a_name_defined_twice_at_the_same_level_is_left_to_edit_file() -> None:
    twice = CALC + "\n\ndef add(a, b):\n    return b + a\n"
    message = refusal(twice, answer("calc.py", "add", "def add(a, b):\n    return a + b"))
    assert "add is defined 2 times in calc.py: add (line 5), add (line 26)" in message
    assert "change one with edit_file" in message


def test_a_javascript_private_method_is_found_by_its_name() -> None:
    source = "class Cart {\n  #secret() {\n    return 1;\n  }\n}\n"
    code = "#secret() {\n  return 2;\n}"
    assert replaced(source, answer("cart.js", "Cart.#secret", code)) == source.replace("1;", "2;")


def test_more_than_the_definition_and_another_kind_are_refused() -> None:
    extra = refusal(CALC, answer("calc.py", "add", "import math\n\ndef add(a, b):\n    return a"))
    assert "more than the definition of add ('import math')" in extra
    kind = refusal(CALC, answer("calc.py", "Calc", "def Calc():\n    return 0"))
    assert "defines a function Calc, but Calc in calc.py is a class" in kind
    body = refusal(CALC, answer("calc.py", "add", "return a + b"))
    assert body.startswith("the new code defines no function or class; send the whole definition")
    whole = refusal(JS, answer("cart.js", "Cart.total", "class Cart { total() { return 1; } }"))
    assert whole.startswith("the new code is the whole class Cart; send only the method total")


def test_a_javascript_arrow_function_const_keeps_its_export() -> None:
    done = replace_symbol("cart.js", JS, "double", "const double = (x) => 2 * x;")
    assert done.content == JS.replace("(x) => x + x;", "(x) => 2 * x;")
    assert "'export'" in done.note
    code = "export function sum(a, b) {\n  return a + b;\n}"
    exported = replaced(JS, answer("cart.js", "sum", code))
    assert exported == JS.replace("return a - b;", "return a + b;")


def test_a_javascript_method_and_a_function_sent_for_it() -> None:
    code = "total(items) {\n  return items.length;\n}"
    assert replaced(JS, answer("cart.js", "Cart.total", code)) == JS.replace(
        "return 0;", "return items.length;"
    )
    # "function total" inside a class body: the file would no longer parse
    wrong = "function total(items) {\n  return items.length;\n}"
    message = refusal(JS, answer("cart.js", "Cart.total", wrong))
    assert message.startswith("after replacing Cart.total, cart.js would not parse")


def test_a_typescript_class_method_keeps_its_decorator() -> None:
    code = "public add(price: number): void {\n  this.items.push(Math.round(price));\n}"
    done = replace_symbol("shop.ts", TS, "Shop.add", code)
    assert done.content == TS.replace("push(price)", "push(Math.round(price))")
    assert "'@log()'" in done.note


def test_a_windows_file_keeps_its_line_endings() -> None:
    windows = CALC.replace("\n", "\r\n")
    code = "def total(self):\n    total = 1\n    return total"
    expected = CALC.replace("        return 0", "        total = 1\n        return total")
    assert replaced(windows, answer("calc.py", "Calc.total", code)) == expected.replace(
        "\n", "\r\n"
    )


def test_the_same_code_again_says_nothing_changed() -> None:
    done = replace_symbol("calc.py", CALC, "add", "def add(a, b):\n    return a - b")
    assert (done.content, done.note) == (CALC, UNCHANGED)


def test_what_small_models_send_around_the_name_and_the_code() -> None:
    assert clean_name("def mul(self, a, b)") == "mul"
    assert clean_name("export const double") == "double"
    assert clean_name("Calc::mul") == "Calc.mul"
    assert clean_name("Calc#mul") == "Calc.mul"
    assert clean_name("src/calc.py::Calc.mul") == "Calc.mul"
    assert clean_name("calc.ts:sum") == "sum"
    module = answer("calc.py", "calc.Calc.total", "def total(self):\n    return 5")
    assert replaced(CALC, module) == CALC.replace("return 0", "return 5")
    assert clean_name("Cart.#secret") == "Cart.#secret"  # a JavaScript private method
    fenced = "```python\ndef add(a, b):\n    return a + b\n```"
    assert replaced(CALC, answer("calc.py", "def add", fenced)) == CALC.replace("a - b", "a + b")


def test_files_it_cannot_read_and_broken_answers_never_reach_the_file() -> None:
    assert refusal("# notes\n", answer("notes.md", "x", "y")).startswith(
        "replace_symbol reads Python, JavaScript and TypeScript files, not notes.md"
    )
    broken = CALC.replace("def add(a, b):", "def add(a, b)")
    assert "calc.py does not parse now (line 5: expected ':')" in refusal(
        broken, answer("calc.py", "add", "def add(a, b):\n    return a")
    )
    with pytest.raises(ToolCallError, match="not valid JSON"):
        parse_tool_call('{"tool": "replace_symbol", "arguments": {"path": "a.py", "code": "', TOOLS)
    with pytest.raises(ToolCallError, match="code"):
        answer("a.py", "f", "")


def test_hostile_code_is_refused_not_raised() -> None:
    nul = refusal(CALC, answer("calc.py", "add", "def add(a, b):\n    return '\x00'"))
    assert "the new code does not parse (source code string cannot contain null bytes)" in nul
    deep = "def add(a, b):\n    return " + "-" * 50_000 + "1"
    assert "nested too deeply to parse" in refusal(CALC, answer("calc.py", "add", deep))

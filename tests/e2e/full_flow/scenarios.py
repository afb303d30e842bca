"""The full-flow scenarios: a goal on one of the small repositories, and what the model said.

The model's side is written here as an author's script (the plan, the critique, each coder turn
as a tool call, the review), in the order the services ask. Recording mode plays it through a
fake OpenAI endpoint and appends every call, keyed by its request hash, to the scenario's
recordings file; the tests answer from that file (``BDG_LLM_RECORDINGS``). What the tester
reports is never scripted: the tests run for real in the sandbox on the code written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bdg_contracts.states import JobState
from tests.e2e.full_flow import repos

RECORDINGS = Path(__file__).parent / "recordings"


def call(tool: str, **arguments: Any) -> str:
    """One coder turn under the tool-union schema: the call as the answer's text."""
    return json.dumps({"tool": tool, "arguments": arguments})


def critique(score: int, *risks: str) -> str:
    return json.dumps({"score": score, "risks": list(risks), "changes": []})


def review(approved: bool, score: int, notes: str) -> str:
    return json.dumps({"approved": approved, "score": score, "notes": notes})


@dataclass(frozen=True)
class Scenario:
    name: str
    files: dict[str, str]
    goal: str
    author: tuple[str, ...]  # the model's answers, in the order they are asked for
    ends_in: JobState

    @property
    def recordings(self) -> Path:
        return RECORDINGS / f"{self.name}.jsonl"


PY_UNITTEST = ["python3", "-m", "unittest", "discover", "-s", "tests", "-t", "."]

# -- Python: a new function, right the first time -------------------------------------------------
DISCOUNT = """\
def subtotal(items):
    \"\"\"Sum of price * quantity over (price, quantity) pairs.\"\"\"
    return sum(price * quantity for price, quantity in items)


def apply_discount(total, percent):
    \"\"\"``total`` less ``percent`` per cent (0 to 100), rounded to cents.\"\"\"
    if not 0 <= percent <= 100:
        raise ValueError(f"percent must be between 0 and 100, not {percent}")
    return round(total * (100 - percent) / 100, 2)
"""
DISCOUNT_TESTS = """\
import unittest

from pricing.cart import apply_discount


class ApplyDiscountTest(unittest.TestCase):
    def test_takes_the_percent_off_and_rounds_to_cents(self):
        self.assertEqual(apply_discount(19.99, 15), 16.99)

    def test_refuses_a_percent_outside_0_to_100(self):
        with self.assertRaises(ValueError):
            apply_discount(10, 120)
"""
PYTHON_PASS = Scenario(
    "python_pass",
    repos.PYTHON,
    "Add apply_discount(total, percent) to pricing/cart.py: it returns the total reduced by "
    "percent (0 to 100), rounded to 2 decimals, and raises ValueError for a percent outside "
    "0-100. Add tests for it.",
    (
        "# Plan\n\n- [ ] Add `apply_discount(total, percent)` to `pricing/cart.py`: reject a "
        "percent outside 0-100 with ValueError, round the result to cents\n- [ ] Add "
        "`tests/test_discount.py` covering the rounding and the refusal\n- [ ] Run the tests\n",
        critique(9, "float rounding at the cent boundary"),
        call("file_read", path="pricing/cart.py", start_line=None, end_line=None),
        call("file_write", path="pricing/cart.py", content=DISCOUNT),
        call("file_write", path="tests/test_discount.py", content=DISCOUNT_TESTS),
        call("run_tests", path=None, argv=PY_UNITTEST),
        call("finish", summary="Added apply_discount with its range check, and two tests."),
        review(True, 9, "Small, tested change; the range check matches the goal."),
    ),
    JobState.awaiting_deploy_approval,
)

# -- Python: the first attempt fails its tests, the retry fixes it --------------------------------
WRONG_CHECK = """\
def subtotal(items):
    \"\"\"Sum of price * quantity over (price, quantity) pairs.\"\"\"
    for price, quantity in items:
        if price < 0:
            raise ValueError(f"negative quantity: {quantity}")
    return sum(price * quantity for price, quantity in items)
"""
RIGHT_CHECK = WRONG_CHECK.replace("if price < 0:", "if quantity < 0:")
NEGATIVE_TESTS = """\
import unittest

from pricing.cart import subtotal


class NegativeQuantityTest(unittest.TestCase):
    def test_a_negative_quantity_is_refused(self):
        with self.assertRaises(ValueError):
            subtotal([(3.0, -1)])
"""
PYTHON_RETRY = Scenario(
    "python_retry",
    repos.PYTHON,
    "Make subtotal() in pricing/cart.py raise ValueError when a quantity is negative, and add "
    "a test for it.",
    (
        "# Plan\n\n- [ ] In `subtotal`, raise ValueError naming the quantity when one is "
        "negative\n- [ ] Add `tests/test_negative.py`\n- [ ] Run the tests\n",
        critique(8),
        # attempt 1: the check tests the price, and the tests are not run
        call("file_write", path="pricing/cart.py", content=WRONG_CHECK),
        call("file_write", path="tests/test_negative.py", content=NEGATIVE_TESTS),
        call("finish", summary="subtotal refuses negative quantities."),
        # attempt 2, after the tester's analysis
        call("file_read", path="pricing/cart.py", start_line=None, end_line=None),
        call("file_write", path="pricing/cart.py", content=RIGHT_CHECK),
        call("run_tests", path=None, argv=PY_UNITTEST),
        call("finish", summary="The check looked at the price; it looks at the quantity now."),
        review(True, 8, "Fixed on the second attempt; the new test covers the refusal."),
    ),
    JobState.awaiting_deploy_approval,
)

# -- JavaScript: an option, right the first time --------------------------------------------------
MAX_LENGTH = """\
export function slugify(text, maxLength = Infinity) {
  return text
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, maxLength)
    .replace(/-+$/, "");
}
"""
MAX_LENGTH_TESTS = """\
import { test } from "node:test";
import assert from "node:assert/strict";

import { slugify } from "../src/slug.js";

test("cuts the slug to maxLength without a trailing dash", () => {
  assert.equal(slugify("Hello brave new world", 12), "hello-brave");
});

test("leaves short slugs alone", () => {
  assert.equal(slugify("Hi there", 40), "hi-there");
});
"""
NODE_TEST = ["node", "--test"]
JS_PASS = Scenario(
    "js_pass",
    repos.JAVASCRIPT,
    "Add a maxLength parameter to slugify(text, maxLength) in src/slug.js: the slug is cut to "
    "at most maxLength characters and never ends with a dash. Add a test.",
    (
        "# Plan\n\n- [ ] Give `slugify` a `maxLength` parameter (default: no limit); cut, then "
        "drop a trailing dash\n- [ ] Add `test/max-length.test.js`\n- [ ] Run `node --test`\n",
        critique(9),
        call("file_read", path="src/slug.js", start_line=None, end_line=None),
        call("file_write", path="src/slug.js", content=MAX_LENGTH),
        call("file_write", path="test/max-length.test.js", content=MAX_LENGTH_TESTS),
        call("run_tests", path=None, argv=NODE_TEST),
        call("finish", summary="slugify takes maxLength; two tests."),
        review(True, 9, "Minimal change with tests for both sides of the limit."),
    ),
    JobState.awaiting_deploy_approval,
)

# -- JavaScript: never passes; five attempts, then the step fails --------------------------------
ACCENT_TESTS = """\
import { test } from "node:test";
import assert from "node:assert/strict";

import { slugify } from "../src/slug.js";

test("keeps accented letters as plain letters", () => {
  assert.equal(slugify("Crème Brûlée"), "creme-brulee");
});
"""


def _accents(mapping: str) -> str:
    """slugify with one (wrong) way of folding accents: ``mapping`` is the step before the
    character filter."""
    return JS_SLUG_WITH.replace("MAPPING", mapping)


JS_SLUG_WITH = """\
export function slugify(text) {
  return text
    .trim()
    .toLowerCase()
    MAPPING
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}
"""
WRONG_FOLDS = (
    '.replace(/é/g, "e")',
    '.normalize("NFC")',
    '.replace(/[èé]/g, "e")',
    '.normalize("NFKC")',
    '.replace(/[èéû]/g, "e")',
)
_NEVER: list[str] = [
    "# Plan\n\n- [ ] Fold accented letters to ASCII in `slugify` before the character "
    "filter\n- [ ] Add `test/accents.test.js`\n- [ ] Run `node --test`\n",
    critique(8, "Unicode has many accented forms"),
    call("file_write", path="test/accents.test.js", content=ACCENT_TESTS),
]
for number, fold in enumerate(WRONG_FOLDS, 1):
    _NEVER += [
        call("file_write", path="src/slug.js", content=_accents(fold)),
        call("finish", summary=f"Attempt {number}: accents folded with {fold}."),
    ]
JS_NEVER = Scenario(
    "js_never",
    repos.JAVASCRIPT,
    'Make slugify() in src/slug.js keep accented letters as their plain ASCII letter ("Crème '
    'Brûlée" becomes "creme-brulee"). Add a test.',
    tuple(_NEVER),
    JobState.failed,
)

SCENARIOS = {s.name: s for s in (PYTHON_PASS, PYTHON_RETRY, JS_PASS, JS_NEVER)}

"""The two small repositories the full-flow tests run jobs on: their files, as committed."""

from __future__ import annotations

PY_CART = """\
def subtotal(items):
    \"\"\"Sum of price * quantity over (price, quantity) pairs.\"\"\"
    return sum(price * quantity for price, quantity in items)
"""

PY_CART_TESTS = """\
import unittest

from pricing.cart import subtotal


class SubtotalTest(unittest.TestCase):
    def test_sums_price_times_quantity(self):
        self.assertEqual(subtotal([(2.5, 2), (1.0, 3)]), 8.0)

    def test_empty_cart_is_zero(self):
        self.assertEqual(subtotal([]), 0)
"""

PYTHON = {
    "README.md": "# pricing\n\nCart arithmetic for the shop.\n",
    "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["."]\ntestpaths = ["tests"]\n',
    # Pinned: the runner's output is quoted to the coder, and a recorded run must meet it again.
    "requirements-dev.txt": "pytest==8.3.4\ncoverage==7.6.10\n",
    "pricing/__init__.py": "",
    "pricing/cart.py": PY_CART,
    "tests/__init__.py": "",
    "tests/test_cart.py": PY_CART_TESTS,
}

JS_SLUG = """\
export function slugify(text) {
  return text
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}
"""

JS_SLUG_TESTS = """\
import { test } from "node:test";
import assert from "node:assert/strict";

import { slugify } from "../src/slug.js";

test("lowercases and joins words with dashes", () => {
  assert.equal(slugify("Hello World"), "hello-world");
});

test("drops leading and trailing separators", () => {
  assert.equal(slugify("  --Hi!-- "), "hi");
});
"""

JAVASCRIPT = {
    "README.md": "# slugs\n\nURL slugs for article titles.\n",
    "package.json": (
        '{\n  "name": "slugs",\n  "version": "1.0.0",\n  "type": "module",\n'
        '  "scripts": {"test": "node --test"}\n}\n'
    ),
    "src/slug.js": JS_SLUG,
    "test/slug.test.js": JS_SLUG_TESTS,
}

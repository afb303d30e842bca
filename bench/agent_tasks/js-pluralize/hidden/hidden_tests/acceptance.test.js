import test from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { capitalize, pluralize } from "../src/words.js";

test("regular plural", () => {
  assert.equal(pluralize(1, "apple"), "1 apple");
  assert.equal(pluralize(0, "apple"), "0 apples");
  assert.equal(pluralize(2, "apple"), "2 apples");
});

test("given plural", () => {
  assert.equal(pluralize(2, "child", "children"), "2 children");
  assert.equal(pluralize(1, "child", "children"), "1 child");
});

test("other exports still there", () => {
  assert.equal(capitalize("x"), "X");
});

test("tests were added", () => {
  assert.ok(readFileSync("test/words.test.js", "utf8").includes("pluralize"));
});

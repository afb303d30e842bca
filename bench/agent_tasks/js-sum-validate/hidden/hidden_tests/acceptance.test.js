import test from "node:test";
import assert from "node:assert/strict";
import { mean, sum } from "../src/stats.js";

const expected = { name: "TypeError", message: "sum() expects an array of numbers" };

test("rejects what is not an array", () => {
  for (const bad of ["1,2", null, undefined, 3, { length: 0 }]) {
    assert.throws(() => sum(bad), expected, String(bad));
  }
});

test("rejects elements that are not numbers", () => {
  for (const bad of [[1, "2"], [1, Number.NaN], [null], [[1]], [1, undefined]]) {
    assert.throws(() => sum(bad), expected, String(bad));
  }
});

test("mean rejects them too", () => {
  assert.throws(() => mean([1, "2"]), TypeError);
  assert.throws(() => mean("12"), TypeError);
});

test("numbers still add up", () => {
  assert.equal(sum([1, 2, 3]), 6);
  assert.equal(sum([]), 0);
  assert.equal(sum([-1.5, 0.5]), -1);
  assert.equal(mean([1, 2, 3, 4]), 2.5);
  assert.equal(mean([]), 0);
});

import test from "node:test";
import assert from "node:assert/strict";
import { chunk, unique } from "../src/arrays.js";

test("groups of size", () => {
  assert.deepEqual(chunk([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
  assert.deepEqual(chunk([1, 2, 3], 3), [[1, 2, 3]]);
  assert.deepEqual(chunk([1, 2], 5), [[1, 2]]);
  assert.deepEqual(chunk(["a", "b"], 1), [["a"], ["b"]]);
});

test("empty array", () => {
  assert.deepEqual(chunk([], 3), []);
});

test("input unchanged", () => {
  const items = [1, 2, 3];
  chunk(items, 2);
  assert.deepEqual(items, [1, 2, 3]);
});

test("size must be a positive integer", () => {
  for (const size of [0, -1, 1.5, Number.NaN, "2", undefined]) {
    assert.throws(() => chunk([1, 2], size), RangeError, String(size));
  }
});

test("other exports still there", () => {
  assert.deepEqual(unique([1, 1]), [1]);
});

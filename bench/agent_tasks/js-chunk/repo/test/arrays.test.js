import test from "node:test";
import assert from "node:assert/strict";
import { compact, unique } from "../src/arrays.js";

test("compact", () => {
  assert.deepEqual(compact([0, 1, "", "a", null]), [1, "a"]);
});

test("unique", () => {
  assert.deepEqual(unique([1, 2, 1, 3, 2]), [1, 2, 3]);
});

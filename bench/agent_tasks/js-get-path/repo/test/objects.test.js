import test from "node:test";
import assert from "node:assert/strict";
import { pick } from "../src/objects.js";

test("pick", () => {
  assert.deepEqual(pick({ a: 1, b: 2, c: 3 }, ["a", "c", "z"]), { a: 1, c: 3 });
});

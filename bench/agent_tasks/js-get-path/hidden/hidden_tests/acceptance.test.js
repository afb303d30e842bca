import test from "node:test";
import assert from "node:assert/strict";
import { get, pick } from "../src/objects.js";

const DATA = { a: { b: [{ c: 1 }, { c: 0 }] }, s: "", f: false, n: null };

test("found", () => {
  assert.equal(get(DATA, "a.b.0.c"), 1);
  assert.deepEqual(get(DATA, "a.b.1"), { c: 0 });
});

test("falsy values are values", () => {
  assert.equal(get(DATA, "a.b.1.c", 9), 0);
  assert.equal(get(DATA, "s", "x"), "");
  assert.equal(get(DATA, "f", true), false);
});

test("missing steps give the fallback", () => {
  assert.equal(get(DATA, "a.x.c", "none"), "none");
  assert.equal(get(DATA, "n.c", "none"), "none");
  assert.equal(get(DATA, "a.b.5.c"), undefined);
  assert.equal(get(null, "a", 3), 3);
});

test("empty path", () => {
  assert.equal(get(DATA, ""), DATA);
});

test("other exports still there", () => {
  assert.deepEqual(pick({ a: 1 }, ["a"]), { a: 1 });
});

import test from "node:test";
import assert from "node:assert/strict";
import { clamp, lerp } from "../src/clamp.js";

test("above max gives max", () => {
  assert.equal(clamp(15, 0, 10), 10);
  assert.equal(clamp(11, -5, 10), 10);
});

test("below min and inside are unchanged", () => {
  assert.equal(clamp(-5, 0, 10), 0);
  assert.equal(clamp(7, 0, 10), 7);
  assert.equal(clamp(10, 0, 10), 10);
});

test("lerp past the end stops at the end", () => {
  assert.equal(lerp(0, 10, 2), 10);
  assert.equal(lerp(0, 10, -1), 0);
});

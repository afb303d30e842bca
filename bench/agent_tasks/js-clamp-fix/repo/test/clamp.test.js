import test from "node:test";
import assert from "node:assert/strict";
import { clamp, lerp } from "../src/clamp.js";

test("keeps values inside the range", () => {
  assert.equal(clamp(5, 0, 10), 5);
});

test("clamps values below min", () => {
  assert.equal(clamp(-3, 0, 10), 0);
});

test("lerp halfway", () => {
  assert.equal(lerp(0, 10, 0.5), 5);
});

test("clamps values above max", () => {
  assert.equal(clamp(42, 0, 10), 10);
});

import test from "node:test";
import assert from "node:assert/strict";
import { capitalize, titleCase } from "../src/strings.js";

test("empty string", () => {
  assert.equal(capitalize(""), "");
});

test("double spaces are kept", () => {
  assert.equal(titleCase("hello  world"), "Hello  World");
  assert.equal(titleCase(" a"), " A");
});

test("unchanged otherwise", () => {
  assert.equal(capitalize("x"), "X");
  assert.equal(capitalize("already Big"), "Already Big");
  assert.equal(titleCase("one two"), "One Two");
});

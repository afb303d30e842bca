import test from "node:test";
import assert from "node:assert/strict";
import { capitalize, titleCase } from "../src/strings.js";

test("capitalizes the first letter", () => {
  assert.equal(capitalize("hello"), "Hello");
});

test("title case", () => {
  assert.equal(titleCase("hello big world"), "Hello Big World");
});

import test from "node:test";
import assert from "node:assert/strict";
import { slugify } from "../src/slugify.js";

test("lowercase and hyphens", () => {
  assert.equal(slugify("Hello World"), "hello-world");
});

test("punctuation is dropped", () => {
  assert.equal(slugify("Hello, World!"), "hello-world");
});

import test from "node:test";
import assert from "node:assert/strict";
import { capitalize } from "../src/words.js";

test("capitalize", () => {
  assert.equal(capitalize("apple"), "Apple");
  assert.equal(capitalize(""), "");
});

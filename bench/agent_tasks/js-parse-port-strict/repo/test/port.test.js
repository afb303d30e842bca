import test from "node:test";
import assert from "node:assert/strict";
import { parsePort } from "../src/port.js";

test("a port", () => {
  assert.equal(parsePort("8080"), 8080);
});

import test from "node:test";
import assert from "node:assert/strict";
import { parsePort } from "../src/port.js";

test("valid ports", () => {
  assert.equal(parsePort("8080"), 8080);
  assert.equal(parsePort(" 1 "), 1);
  assert.equal(parsePort("65535"), 65535);
});

test("not a string", () => {
  for (const value of [8080, null, undefined, {}]) {
    assert.throws(() => parsePort(value), TypeError);
  }
});

test("out of range or malformed", () => {
  for (const text of ["", "0", "65536", "80a", "8.5", "-1", "0x50"]) {
    assert.throws(
      () => parsePort(text),
      (error) => error instanceof RangeError && error.message.includes(text),
      text,
    );
  }
});

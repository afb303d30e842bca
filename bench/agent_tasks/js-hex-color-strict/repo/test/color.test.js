import test from "node:test";
import assert from "node:assert/strict";
import { parseHexColor, toHex } from "../src/color.js";

test("parses #rrggbb", () => {
  assert.deepEqual(parseHexColor("#ff8800"), { r: 255, g: 136, b: 0 });
});

test("round trip", () => {
  assert.equal(toHex(parseHexColor("#0a0b0c")), "#0a0b0c");
});

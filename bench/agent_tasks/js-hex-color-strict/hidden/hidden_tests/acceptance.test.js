import test from "node:test";
import assert from "node:assert/strict";
import { parseHexColor, toHex } from "../src/color.js";

test("long and short forms, any case", () => {
  assert.deepEqual(parseHexColor("#ff8800"), { r: 255, g: 136, b: 0 });
  assert.deepEqual(parseHexColor("#f80"), { r: 255, g: 136, b: 0 });
  assert.deepEqual(parseHexColor("#FF8800"), { r: 255, g: 136, b: 0 });
  assert.deepEqual(parseHexColor("#aBc"), { r: 170, g: 187, b: 204 });
  assert.deepEqual(parseHexColor("#000000"), { r: 0, g: 0, b: 0 });
});

test("not a string: TypeError", () => {
  for (const bad of [undefined, null, 0xff8800, ["#fff"]]) {
    assert.throws(() => parseHexColor(bad), TypeError, String(bad));
  }
});

test("anything else: SyntaxError", () => {
  const bad = ["", "#", "ff8800", "#ff88", "#ggg", "#ff880000", "#12345", "#fff ", "# fff", "fff"];
  for (const text of bad) {
    assert.throws(() => parseHexColor(text), SyntaxError, JSON.stringify(text));
  }
});

test("round trip still works", () => {
  assert.equal(toHex(parseHexColor("#0a0b0c")), "#0a0b0c");
  assert.equal(toHex(parseHexColor("#abc")), "#aabbcc");
});

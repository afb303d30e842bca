import test from "node:test";
import assert from "node:assert/strict";
import { parseQuery } from "../src/query.js";

// spread into a plain object: a result made with Object.create(null) is fine too
const parse = (query) => ({ ...parseQuery(query) });

test("plain pairs", () => {
  assert.deepEqual(parse("a=1&b=two"), { a: "1", b: "two" });
});

test("leading question mark and empty pairs", () => {
  assert.deepEqual(parse("?a=1&&b=2&"), { a: "1", b: "2" });
  assert.deepEqual(parse(""), {});
  assert.deepEqual(parse("?"), {});
});

test("decoding", () => {
  assert.deepEqual(parse("q=hello+world&name=J%C3%BCrgen%20K"), {
    q: "hello world",
    name: "Jürgen K",
  });
  assert.deepEqual(parse("a%20b=c%26d"), { "a b": "c&d" });
});

test("key without value and value with equals", () => {
  assert.deepEqual(parse("flag&x=1"), { flag: "", x: "1" });
  assert.deepEqual(parse("a=b=c"), { a: "b=c" });
});

test("repeated keys collect into an array", () => {
  assert.deepEqual(parse("a=1&a=2&b=3&a=4"), { a: ["1", "2", "4"], b: "3" });
  assert.deepEqual(parse("t=x&t="), { t: ["x", ""] });
});

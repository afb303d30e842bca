import test from "node:test";
import assert from "node:assert/strict";
import { parseQuery, stringifyQuery } from "../src/query.js";

test("parses pairs", () => {
  assert.deepEqual(parseQuery("a=1&b=two"), { a: "1", b: "two" });
});

test("stringifies", () => {
  assert.equal(stringifyQuery({ q: "a b", n: "1" }), "q=a%20b&n=1");
});

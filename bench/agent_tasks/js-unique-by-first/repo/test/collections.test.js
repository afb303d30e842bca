import test from "node:test";
import assert from "node:assert/strict";
import { uniqueBy } from "../src/collections.js";

test("distinct keys", () => {
  const items = [{ id: "b" }, { id: "a" }];
  assert.deepEqual(uniqueBy(items, (item) => item.id), items);
});

import test from "node:test";
import assert from "node:assert/strict";
import { uniqueBy } from "../src/collections.js";

test("first item wins, original order", () => {
  const items = [
    { id: "b", n: 1 },
    { id: "a", n: 2 },
    { id: "b", n: 3 },
  ];
  assert.deepEqual(uniqueBy(items, (item) => item.id), [items[0], items[1]]);
});

test("falsy keys are keys", () => {
  const items = [{ k: 0 }, { k: "" }, { k: null }, { k: 0 }, { k: false }];
  assert.deepEqual(uniqueBy(items, (item) => item.k), [items[0], items[1], items[2], items[4]]);
});

test("keys by identity", () => {
  const items = [{ k: 1 }, { k: "1" }, { k: 2 }, { k: 1 }];
  assert.deepEqual(uniqueBy(items, (item) => item.k), items.slice(0, 3));
});

test("numeric keys keep the items' order", () => {
  const items = [{ k: 10 }, { k: 2 }];
  assert.deepEqual(uniqueBy(items, (item) => item.k), items);
});

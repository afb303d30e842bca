import test from "node:test";
import assert from "node:assert/strict";
import { orderTotal } from "../src/order.js";
import { discounted } from "../src/discount.js";

test("percent off", () => {
  assert.equal(orderTotal([{ cents: 1000, qty: 2 }], 10), 1800);
  assert.equal(orderTotal([{ cents: 1999, qty: 1 }], 10), 1799);
  assert.equal(discounted(2000, 25), 1500);
});

test("halves round up", () => {
  assert.equal(orderTotal([{ cents: 1005, qty: 1 }], 10), 905);
  assert.equal(discounted(15, 10), 14);
});

test("empty order", () => {
  assert.equal(orderTotal([], 10), 0);
  assert.equal(orderTotal([], 0), 0);
});

test("no discount unchanged", () => {
  assert.equal(orderTotal([{ cents: 250, qty: 3 }], 0), 750);
});

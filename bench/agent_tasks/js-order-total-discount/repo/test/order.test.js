import test from "node:test";
import assert from "node:assert/strict";
import { orderTotal } from "../src/order.js";

test("no discount", () => {
  assert.equal(orderTotal([{ cents: 250, qty: 3 }], 0), 750);
  assert.equal(orderTotal([{ cents: 100, qty: 1 }, { cents: 5, qty: 2 }], 0), 110);
});

import test from "node:test";
import assert from "node:assert/strict";
import { reportLine } from "../src/report.js";
import { invoiceTitle } from "../src/invoice.js";

const DAY = new Date(Date.UTC(2024, 2, 5));

test("report line", () => {
  assert.equal(reportLine(DAY, 3), "2024-03-05: 3 orders");
});

test("invoice title", () => {
  assert.equal(invoiceTitle(12, DAY), "Invoice #12 of 2024-03-05");
});

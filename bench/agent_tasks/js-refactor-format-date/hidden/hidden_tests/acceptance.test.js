import test from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { formatDate } from "../src/dates.js";
import { reportLine } from "../src/report.js";
import { invoiceTitle } from "../src/invoice.js";

test("formatDate", () => {
  assert.equal(formatDate(new Date(Date.UTC(2024, 2, 5))), "2024-03-05");
  assert.equal(formatDate(new Date(Date.UTC(1999, 11, 31, 23, 59))), "1999-12-31");
});

test("behaviour unchanged", () => {
  const day = new Date(Date.UTC(2024, 9, 15));
  assert.equal(reportLine(day, 0), "2024-10-15: 0 orders");
  assert.equal(invoiceTitle(7, day), "Invoice #7 of 2024-10-15");
});

test("the code is not repeated", () => {
  for (const name of ["src/report.js", "src/invoice.js"]) {
    const source = readFileSync(name, "utf8");
    assert.ok(source.includes("formatDate"), name);
    assert.ok(!source.includes("getUTCMonth"), name);
  }
});

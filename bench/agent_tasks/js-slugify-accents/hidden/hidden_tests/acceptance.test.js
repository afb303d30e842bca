import test from "node:test";
import assert from "node:assert/strict";
import { slugify } from "../src/slugify.js";

test("accents become plain letters", () => {
  assert.equal(slugify("Crème Brûlée"), "creme-brulee");
  assert.equal(slugify("Déjà vu"), "deja-vu");
  assert.equal(slugify("Ångström über naïve"), "angstrom-uber-naive");
});

test("no repeated, leading or trailing hyphens", () => {
  assert.equal(slugify("  Hello -- World!  "), "hello-world");
  assert.equal(slugify("Tom & Jerry"), "tom-jerry");
  assert.equal(slugify("--already-a-slug--"), "already-a-slug");
  assert.equal(slugify("!Wow!"), "wow");
});

test("plain titles unchanged", () => {
  assert.equal(slugify("Hello World"), "hello-world");
  assert.equal(slugify("version 2 notes"), "version-2-notes");
});

import { expect, it } from "vitest";
import { blocks } from "./markdown";

it("reads headings, lists, code and inline marks without producing HTML", () => {
  const out = blocks("# Plan\n\n1. add `x`\n2. **test** it\n\n```\n<script>\n```\ntext <b>");
  expect(out.map((b) => b.kind)).toEqual(["heading", "list", "code", "paragraph"]);
  expect(out[2]).toEqual({ kind: "code", text: "<script>" });
  expect(out[1]).toMatchObject({ kind: "list", ordered: true });
});

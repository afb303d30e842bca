import { describe, expect, it } from "vitest";
import { newestFirst, removeNote, titleOf, upsertNote } from "./notes";

const note = (id: string, text: string, updatedAt: number) => ({ id, text, updatedAt });

describe("notes", () => {
  it("titles a note by its first line", () => {
    expect(titleOf(note("a", "Groceries\nmilk", 1))).toBe("Groceries");
    expect(titleOf(note("a", "  \nmilk", 1))).toBe("Untitled note");
  });

  it("keeps the newest edit first and replaces by id", () => {
    const notes = upsertNote([note("a", "old", 1), note("b", "b", 2)], note("a", "new", 3));
    expect(notes.map((n) => n.text)).toEqual(["new", "b"]);
    expect(newestFirst([note("x", "x", 1), note("y", "y", 5)])[0].id).toBe("y");
  });

  it("removes by id", () => {
    expect(removeNote([note("a", "a", 1), note("b", "b", 2)], "a")).toEqual([note("b", "b", 2)]);
  });
});

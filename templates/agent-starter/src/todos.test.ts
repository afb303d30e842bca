import { describe, expect, it } from "vitest";
import * as list from "./todos";

describe("todos", () => {
  it("adds a trimmed title and ignores a blank one", () => {
    const one = list.addTodo([], "  buy milk ", "1");
    expect(one).toEqual([{ id: "1", title: "buy milk", completed: false }]);
    expect(list.addTodo(one, "   ", "2")).toBe(one);
  });

  it("toggles all: completes every todo unless all are complete", () => {
    const todos = list.toggleTodo(list.addTodo(list.addTodo([], "a", "1"), "b", "2"), "1");
    expect(list.toggleAll(todos).every((t) => t.completed)).toBe(true);
    expect(list.toggleAll(list.toggleAll(todos)).some((t) => t.completed)).toBe(false);
  });

  it("filters and counts", () => {
    const todos = list.toggleTodo(list.addTodo(list.addTodo([], "a", "1"), "b", "2"), "2");
    expect(list.visible(todos, "active").map((t) => t.id)).toEqual(["1"]);
    expect(list.visible(todos, "completed").map((t) => t.id)).toEqual(["2"]);
    expect(list.itemsLeft(todos)).toBe("1 item left");
    expect(list.clearCompleted(todos).map((t) => t.id)).toEqual(["1"]);
  });
});

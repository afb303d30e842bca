import { expect, it } from "vitest";
import { completions, hints, parse, typing } from "./slash";

it("parses goals, commands with arguments, and unknown commands", () => {
  expect(parse("  add a health check ")).toEqual({ kind: "goal", text: "add a health check" });
  const plan = parse("/plan add /healthz");
  expect(plan.kind === "command" && [plan.command.name, plan.args]).toEqual(["plan", "add /healthz"]);
  expect(parse("/CANCEL too slow")).toMatchObject({ kind: "command", args: "too slow" });
  expect(parse("/frobnicate")).toEqual({ kind: "unknown", name: "frobnicate" });
});

it("completes the command name while it is typed, then stops", () => {
  expect(completions("/c").map((c) => c.name)).toEqual(["cancel", "cost"]);
  expect(completions("/").length).toBe(6);
  expect(completions("/plan x")).toEqual([]);
  expect(completions("plan")).toEqual([]);
});

it("keeps the chosen command's argument hint while its arguments are typed", () => {
  expect(hints("/can").map((c) => [c.name, c.hint])).toEqual([["cancel", "[reason]"]]);
  expect(hints("/cancel ").map((c) => [c.name, c.hint])).toEqual([["cancel", "[reason]"]]);
  expect(hints("/plan add a route").map((c) => c.hint)).toEqual(["<goal>"]);
  expect(hints("/frobnicate now")).toEqual([]);
  expect(hints("add a route")).toEqual([]);
  expect(typing("/retry")).toBeNull(); // the name is still being typed: completions show
});

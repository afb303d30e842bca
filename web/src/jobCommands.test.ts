import { expect, it } from "vitest";
import { jobCommand } from "./jobCommands";

it("turns job commands into actions, answers, or errors", () => {
  expect(jobCommand("/cancel too slow", 0, [])).toEqual({
    kind: "act",
    action: "cancel",
    body: { reason: "too slow" },
  });
  expect(jobCommand("/deploy", 0, [])).toEqual({ kind: "act", action: "deploy/approve" });
  expect(jobCommand("/cost", 0.01234, [])).toEqual({ kind: "say", text: "cost so far: $0.0123" });
  const tests = [
    { version: 5, name: "TestsFailed", event: { attempt: 1, results: { total: 4, failed: 1 } } },
    { version: 7, name: "TestsPassed", event: { attempt: 2, results: { total: 4, failed: 0 } } },
  ];
  expect(jobCommand("/test", 0, tests)).toEqual({
    kind: "say",
    text: "attempt 2: tests passed, 0 of 4 failing",
  });
  expect(jobCommand("/nope", 0, []).kind).toBe("error");
  expect(jobCommand("/plan x", 0, []).kind).toBe("error");
});

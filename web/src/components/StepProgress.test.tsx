// @vitest-environment jsdom
import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, expect, test } from "vitest";
import { EventView } from "../timeline";
import { StepProgress } from "./StepProgress";

afterEach(cleanup);

const started = new Date(Date.now() - 75_000).toISOString();
const EVENTS: EventView[] = [
  { version: 1, name: "JobRequested", event: { goal: "g", max_attempts: 5, occurred_at: started } },
  { version: 2, name: "PlanApproved", event: { approved_by: "user:w", occurred_at: started } },
  {
    version: 3,
    name: "LlmCalled",
    event: { role: "coder", prompt_tokens: 12000, completion_tokens: 345, cost_usd: 0.0123, occurred_at: started },
  },
  { version: 4, name: "ToolCalled", event: { tool: "run_command", occurred_at: started } },
];

test("a working step shows a busy bar, what it does, for how long and its model calls", () => {
  render(<StepProgress state="coding" events={EVENTS} />);
  const bar = screen.getByRole("progressbar", { name: "Coding: attempt 1 of 5" });
  expect(bar.hasAttribute("value")).toBe(false); // indeterminate: no step says how far it is
  const text = screen.getByTestId("progress").textContent ?? "";
  expect(text).toMatch(/^Coding: attempt 1 of 5 · for 1 min 1[5-9] s · 1 model call, 12,345 tokens, \$0\.0123 · 1 tool call$/);
});

test("nothing shows while the job waits for a person", () => {
  render(<StepProgress state="awaiting_plan_approval" events={EVENTS} />);
  expect(screen.queryByTestId("progress")).toBeNull();
});

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

test("while the tester installs, the indicator says so with the install's time and output lines", () => {
  const tested: EventView[] = [
    ...EVENTS,
    { version: 5, name: "CodingFinished", event: { attempt: 1, occurred_at: started } },
  ];
  const frame = {
    type: "progress" as const,
    kind: "install" as const,
    job_id: "j",
    attempt: 1,
    project: ".",
    state: "running" as const,
    elapsed_s: 42,
    output_lines: 1234,
  };
  render(<StepProgress state="testing" events={tested} install={{ frame, receivedAt: Date.now() }} />);
  const bar = screen.getByRole("progressbar", { name: "Installing dependencies for attempt 1…" });
  expect(bar).toBeTruthy();
  const text = screen.getByTestId("progress").textContent ?? "";
  expect(text).toMatch(/^Installing dependencies for attempt 1… · for 4[2-4] s · 1,234 lines of output$/);
  cleanup();
  render(<StepProgress state="testing" events={tested} install={{ frame: { ...frame, state: "finished" }, receivedAt: Date.now() }} />);
  expect(screen.getByTestId("progress").textContent).toMatch(/^Tests running for attempt 1: install, run, read the results/);
});

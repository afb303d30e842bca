import { expect, test } from "vitest";
import { elapsed, InstallSeen, isInstallFrame, progressOf } from "./progress";
import { EventView } from "./timeline";

const T0 = Date.parse("2026-01-01T10:00:00Z");
function ev(version: number, name: string, seconds: number, fields: Record<string, unknown> = {}): EventView {
  return { version, name, event: { ...fields, occurred_at: new Date(T0 + seconds * 1000).toISOString() } };
}

const planned = [
  ev(1, "JobRequested", 0, { goal: "g", max_attempts: 3 }),
  ev(2, "LlmCalled", 5, { role: "planner", prompt_tokens: 1000, completion_tokens: 200, cost_usd: 0.01 }),
  ev(3, "PlanDrafted", 6, { iteration: 1 }),
  ev(4, "LlmCalled", 9, { role: "critic", prompt_tokens: 500, completion_tokens: 50, cost_usd: 0.002 }),
];

test("planning: since the job was requested, with the model calls and tokens so far", () => {
  const p = progressOf("planning", planned)!;
  expect(p.step).toBe("planning");
  expect(p.startedAt).toBe(T0);
  expect([p.modelCalls, p.tokens, p.toolCalls]).toEqual([2, 1750, 0]);
  expect(p.costUsd).toBeCloseTo(0.012);
  expect(p.label).toBe("Planning: draft 1 being critiqued or revised");
});

test("a step with no event of its own yet started with the event that ended the one before", () => {
  const coded = [
    ...planned,
    ev(5, "PlanApproved", 20, { approved_by: "user:w" }),
    ev(6, "LlmCalled", 40, { role: "coder", prompt_tokens: 10, completion_tokens: 10, cost_usd: 0 }),
    ev(7, "ToolCalled", 41, { tool: "edit_file" }),
    ev(8, "FilesChanged", 42, { attempt: 1 }),
    ev(9, "CodingFinished", 43, { attempt: 1 }),
  ];
  const coding = progressOf("coding", coded.slice(0, 7))!;
  expect(coding.label).toBe("Coding: attempt 1 of 3");
  expect(coding.startedAt).toBe(T0 + 20_000);
  expect([coding.modelCalls, coding.toolCalls]).toEqual([1, 1]);
  const testing = progressOf("testing", coded)!;
  expect(testing.label).toBe("Tests running for attempt 1: install, run, read the results");
  expect(testing.startedAt).toBe(T0 + 43_000);
  expect(testing.modelCalls).toBe(0);
  const retried = [...coded, ev(10, "TestsFailed", 60, { attempt: 1, results: { total: 2, failed: 1 } })];
  expect(progressOf("coding", retried)!.label).toBe("Coding: attempt 2 of 3");
});

test("no indicator while the job waits or has ended", () => {
  for (const state of ["awaiting_plan_approval", "paused", "done", "failed", "cancelled"]) {
    expect(progressOf(state, planned)).toBeNull();
  }
});

test("elapsed time reads in s, min and h", () => {
  expect(elapsed(-5)).toBe("0 s");
  expect(elapsed(42_900)).toBe("42 s");
  expect(elapsed(185_000)).toBe("3 min 05 s");
  expect(elapsed(3_720_000)).toBe("1 h 02 min");
});

const testing = [
  ...planned,
  ev(5, "PlanApproved", 20, { approved_by: "user:w" }),
  ev(6, "FilesChanged", 30, { attempt: 2 }),
  ev(7, "CodingFinished", 31, { attempt: 2 }),
];
function install(state: string, attempt = 2, project = "."): InstallSeen {
  const frame = { type: "progress", kind: "install", job_id: "j", attempt, project, state, elapsed_s: 12.5, output_lines: 340 };
  if (!isInstallFrame(frame)) throw new Error("not a frame");
  return { frame, receivedAt: T0 + 60_000 };
}

test("an install running for the attempt: its label, start and output lines from the report", () => {
  const p = progressOf("testing", testing, install("running"))!;
  expect(p.label).toBe("Installing dependencies for attempt 2…");
  expect(p.startedAt).toBe(T0 + 60_000 - 12_500);
  expect(p.outputLines).toBe(340);
  expect(progressOf("testing", testing, install("started", 2, "web"))!.label).toBe(
    "Installing dependencies in web for attempt 2…",
  );
});

test("a finished, failed or earlier attempt's install, or another step: the usual indicator", () => {
  for (const seen of [install("finished"), install("failed"), install("running", 1), null]) {
    const p = progressOf("testing", testing, seen)!;
    expect(p.label).toBe("Tests running for attempt 2: install, run, read the results");
    expect(p.outputLines).toBeNull();
  }
  expect(progressOf("coding", testing, install("running"))!.outputLines).toBeNull();
});

test("only a whole install report is one", () => {
  expect(isInstallFrame({ type: "progress", kind: "install", attempt: 1 })).toBe(false);
  expect(isInstallFrame({ type: "release", event: "ReleaseCreated" })).toBe(false);
  expect(isInstallFrame(null)).toBe(false);
});

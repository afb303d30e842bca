import { describe as suite, expect, it } from "vitest";
import { lastViewChange, liveCost } from "./liveCost";
import type { EventView } from "./timeline";

const frame = (version: number, name: string, job_cost_usd?: number): EventView => ({
  version,
  name,
  event: {},
  ...(job_cost_usd === undefined ? {} : { job_cost_usd }),
});

suite("liveCost", () => {
  it("is the last frame's total as model calls arrive", () => {
    const job = { cost_usd: 0.001, version: 2 };
    const events = [frame(1, "JobRequested", 0), frame(2, "LlmCalled", 0.001), frame(3, "LlmCalled", 0.0035)];
    expect(liveCost(job, events)).toBeCloseTo(0.0035);
    expect(liveCost(job, [...events, frame(4, "PlanReady", 0.0035)])).toBeCloseTo(0.0035);
  });

  it("is the job's own cost when the job was fetched after the last frame", () => {
    expect(liveCost({ cost_usd: 0.5, version: 9 }, [frame(3, "LlmCalled", 0.2)])).toBe(0.5);
  });

  it("is the job's own cost when no frame carries one (or one is not a number)", () => {
    expect(liveCost({ cost_usd: 0.25, version: 1 }, [])).toBe(0.25);
    expect(liveCost({ cost_usd: 0.25, version: 1 }, [frame(2, "LlmCalled")])).toBe(0.25);
    const bad = { ...frame(3, "LlmCalled"), job_cost_usd: Number.NaN };
    expect(liveCost({ cost_usd: 0.25, version: 1 }, [bad])).toBe(0.25);
  });
});

suite("lastViewChange", () => {
  it("skips model calls: their cost comes with the frame, nothing else changes", () => {
    const events = [frame(1, "JobRequested"), frame(2, "PlanReady"), frame(3, "LlmCalled"), frame(4, "LlmCalled")];
    expect(lastViewChange(events)).toBe(2);
    expect(lastViewChange([...events, frame(5, "PlanApproved")])).toBe(5);
    expect(lastViewChange([frame(1, "LlmCalled")])).toBe(0);
  });
});

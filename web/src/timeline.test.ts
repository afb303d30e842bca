import { describe as suite, expect, it } from "vitest";
import { appendEvents, describe, EventView, groupBySteps } from "./timeline";

const ev = (version: number, name: string, event: Record<string, unknown> = {}): EventView => ({
  version,
  name,
  event,
});

suite("groupBySteps", () => {
  it("starts a group whenever the step changes, and keeps unowned events in the current one", () => {
    const groups = groupBySteps([
      ev(1, "JobRequested", { goal: "g" }),
      ev(2, "LlmCalled", { role: "planner", prompt_tokens: 10, completion_tokens: 5, cost_usd: 0.01 }),
      ev(3, "PlanReady"),
      ev(4, "JobPaused"),
      ev(5, "FilesChanged", { attempt: 1 }),
      ev(6, "TestsFailed", { attempt: 1, results: {} }),
      ev(7, "FilesChanged", { attempt: 2 }),
      ev(8, "StepFailed", { step: "testing" }),
    ]);
    expect(groups.map((g) => [g.step, g.events.map((e) => e.version)])).toEqual([
      ["job", [1]],
      ["planning", [2, 3, 4]],
      ["coding", [5]],
      ["testing", [6]],
      ["coding", [7]],
      ["testing", [8]],
    ]);
    expect(groups[1].llmTokens).toBe(15);
    expect(groups[1].costUsd).toBeCloseTo(0.01);
  });
});

suite("appendEvents", () => {
  it("drops versions already known and sorts what is new", () => {
    const known = [ev(1, "A"), ev(2, "B")];
    const merged = appendEvents(known, [ev(4, "D"), ev(2, "B"), ev(3, "C")]);
    expect(merged.map((e) => e.version)).toEqual([1, 2, 3, 4]);
    expect(appendEvents(merged, [ev(1, "A")])).toBe(merged);
  });
});

suite("PreviewMeasured", () => {
  const measured = (scores: Record<string, number>, bar: number): EventView =>
    ev(44, "PreviewMeasured", { release: "r-1", url: "http://r-1.site.localhost:8790/", scores, bar });

  it("names every score and the bar when the preview passed", () => {
    const all = { performance: 95, accessibility: 100, "best-practices": 100, seo: 100 };
    expect(describe(measured(all, 90))).toBe(
      "Preview passed Lighthouse (each >= 90): performance 95, accessibility 100, best-practices 100, seo 100",
    );
  });

  it("says it failed when one category is below the bar, and groups under reviewing", () => {
    const heavy = { performance: 56, accessibility: 100, "best-practices": 100, seo: 100 };
    expect(describe(measured(heavy, 90))).toMatch(/^Preview failed Lighthouse \(each >= 90\): performance 56,/);
    const groups = groupBySteps([ev(43, "ReviewCompleted"), measured(heavy, 90)]);
    expect(groups.map((g) => g.step)).toEqual(["reviewing"]);
  });
});

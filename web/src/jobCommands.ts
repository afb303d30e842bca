// What a slash command typed on a job's page does: pure, so it can be tested without a page.
import { parse } from "./slash";
import { EventView } from "./timeline";

export type JobCommand =
  | { kind: "act"; action: string; body?: unknown }
  | { kind: "say"; text: string }
  | { kind: "error"; text: string };

export function jobCommand(input: string, costUsd: number, events: EventView[]): JobCommand {
  const parsed = parse(input);
  if (parsed.kind === "goal") return { kind: "error", text: "commands start with /" };
  if (parsed.kind === "unknown") return { kind: "error", text: `unknown command /${parsed.name}` };
  switch (parsed.command.name) {
    case "cancel":
      return { kind: "act", action: "cancel", body: { reason: parsed.args } };
    case "retry":
      return { kind: "act", action: "retry" };
    case "deploy":
      return { kind: "act", action: "deploy/approve" };
    case "cost":
      return { kind: "say", text: `cost so far: $${costUsd.toFixed(4)}` };
    case "test": {
      const last = [...events].reverse().find((e) => e.name === "TestsPassed" || e.name === "TestsFailed");
      if (!last) return { kind: "say", text: "no test run yet" };
      const r = (last.event.results ?? {}) as Record<string, unknown>;
      const verdict = last.name === "TestsPassed" ? "passed" : "failed";
      return {
        kind: "say",
        text: `attempt ${String(last.event.attempt)}: tests ${verdict}, ${String(r.failed ?? 0)} of ${String(r.total ?? 0)} failing`,
      };
    }
    default:
      return { kind: "error", text: "/plan starts a new job: use it on the home page" };
  }
}

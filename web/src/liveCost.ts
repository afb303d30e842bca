// The job's cost as the stream moves it: every event frame of the WebSocket carries the job's
// total right after that event (`job_cost_usd`), so the page shows each model call's cost the
// moment it arrives, without asking the gateway for the job again. Pure: JobPage only calls these.
import type { EventView } from "./timeline";

// Events that change nothing the job's REST view shows but its cost (which the frame carries).
const COST_ONLY = new Set(["LlmCalled"]);

/** The newest cost known: the last frame's total, unless the job was fetched at a later version. */
export function liveCost(job: { cost_usd: number; version: number }, events: EventView[]): number {
  for (let i = events.length - 1; i >= 0; i--) {
    const cost = events[i].job_cost_usd;
    if (typeof cost === "number" && Number.isFinite(cost)) {
      return events[i].version >= job.version ? cost : job.cost_usd;
    }
  }
  return job.cost_usd;
}

/** The version of the last event worth fetching the job again for (0: none yet). */
export function lastViewChange(events: EventView[]): number {
  for (let i = events.length - 1; i >= 0; i--) {
    if (!COST_ONLY.has(events[i].name)) return events[i].version;
  }
  return 0;
}

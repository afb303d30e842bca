// The job's events as the timeline shows them: merged once each, in version order, grouped by
// the step they belong to. Pure: the socket and the components only call these.

export interface EventView {
  version: number;
  name: string;
  event: Record<string, unknown>;
  job_cost_usd?: number; // on the WebSocket's frames: the job's cost right after this event
}

export type Step = "planning" | "coding" | "testing" | "reviewing" | "deploying";

export interface StepGroup {
  key: string;
  step: Step | "job";
  events: EventView[];
  llmTokens: number;
  costUsd: number;
}

const STEP_OF_EVENT: Record<string, Step> = {
  PlanDrafted: "planning",
  PlanCritiqued: "planning",
  PlanReady: "planning",
  PlanEdited: "planning",
  PlanApproved: "planning",
  CodeContextRetrieved: "coding",
  FilesChanged: "coding",
  CodingFinished: "coding",
  TestsPassed: "testing",
  TestsFailed: "testing",
  ReviewCompleted: "reviewing",
  PreviewMeasured: "reviewing",
  DeployAwaitingApproval: "deploying",
  DeployApproved: "deploying",
  Deployed: "deploying",
  CanaryPromoted: "deploying",
  RollbackRequested: "deploying",
  RolledBack: "deploying",
};

// A model call's role names the step it works for.
const STEP_OF_ROLE: Record<string, Step> = {
  planner: "planning",
  critic: "planning",
  coder: "coding",
  tester: "testing",
  reviewer: "reviewing",
};

/** Events appended in order; anything at or below the last version is a duplicate. */
export function appendEvents(known: EventView[], incoming: EventView[]): EventView[] {
  let last = known.length ? known[known.length - 1].version : 0;
  const added: EventView[] = [];
  for (const event of [...incoming].sort((a, b) => a.version - b.version)) {
    if (event.version <= last) continue;
    added.push(event);
    last = event.version;
  }
  return added.length ? [...known, ...added] : known;
}

/** The step an event says it belongs to; undefined when it goes with the step around it. */
export function stepOf(event: EventView): Step | undefined {
  const own = STEP_OF_EVENT[event.name];
  if (own) return own;
  const fields = event.event;
  if (typeof fields.step === "string") return fields.step as Step;
  if (event.name === "LlmCalled" && typeof fields.role === "string") {
    return STEP_OF_ROLE[fields.role];
  }
  if (event.name === "ToolCalled" || event.name.startsWith("ToolCall")) return "coding";
  return undefined;
}

/** Consecutive runs of one step: coding, testing, coding again shows as three groups. */
export function groupBySteps(events: EventView[]): StepGroup[] {
  const groups: StepGroup[] = [];
  for (const event of events) {
    const step = stepOf(event) ?? groups[groups.length - 1]?.step ?? "job";
    let group = groups[groups.length - 1];
    if (!group || group.step !== step) {
      group = { key: `${step}-${event.version}`, step, events: [], llmTokens: 0, costUsd: 0 };
      groups.push(group);
    }
    group.events.push(event);
    if (event.name === "LlmCalled") {
      const f = event.event;
      group.llmTokens += Number(f.prompt_tokens ?? 0) + Number(f.completion_tokens ?? 0);
      group.costUsd += Number(f.cost_usd ?? 0);
    }
  }
  return groups;
}

/** One line saying what an event means. */
export function describe(event: EventView): string {
  const f = event.event;
  switch (event.name) {
    case "JobRequested":
      return `Job requested: ${String(f.goal ?? "")}`;
    case "PlanCritiqued":
      return `Plan critiqued: score ${String(f.score)}/10`;
    case "LlmCalled":
      return `${String(f.role)} on ${String(f.model)}: ${Number(f.prompt_tokens) + Number(f.completion_tokens)} tokens, $${Number(f.cost_usd).toFixed(4)}`;
    case "ToolCalled":
      return `Tool ${String(f.tool)}`;
    case "FilesChanged":
      return `Files changed (attempt ${String(f.attempt)}): ${(f.paths as string[] | undefined)?.join(", ") ?? ""}`;
    case "TestsPassed":
    case "TestsFailed": {
      const r = (f.results ?? {}) as Record<string, unknown>;
      return `${event.name === "TestsPassed" ? "Tests passed" : "Tests failed"}: ${String(r.failed ?? 0)} of ${String(r.total ?? 0)} failed`;
    }
    case "ReviewCompleted":
      return `Review ${f.approved ? "approved" : "rejected"}: score ${String(f.score)}/10`;
    case "PreviewMeasured": {
      // The deployer's Lighthouse gate: every category must reach the operator's bar.
      const scores = Object.entries((f.scores ?? {}) as Record<string, number>);
      const bar = Number(f.bar);
      const below = scores.filter(([, s]) => s < bar).length > 0;
      const line = scores.map(([c, s]) => `${c} ${s}`).join(", ");
      return `Preview ${below ? "failed" : "passed"} Lighthouse (each >= ${bar}): ${line}`;
    }
    case "DeployAwaitingApproval":
      return `Deploy to ${String(f.target)} awaits approval`;
    case "Deployed":
      return `Deployed at ${String(f.url)}`;
    case "StepFailed":
      return `Step ${String(f.step)} failed: ${String(f.reason)}`;
    default:
      return event.name.replace(/([a-z])([A-Z])/g, "$1 $2");
  }
}

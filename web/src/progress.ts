// What a long step is doing now, from the events that exist: no progress events are stored (a
// heartbeat is no fact about the job, see bdg_runtime/heartbeats.py), so the step's start is
// the occurred_at of the event that began it, and its work so far is the model calls and tool
// calls recorded in it. An install in the test step is told by the tester's progress reports,
// which the job's WebSocket forwards as {"type": "progress"} frames (gateway progress_frames.py):
// sent while a page listens, never stored. Pure: the component passes the clock in.
import { EventView, groupBySteps, Step } from "./timeline";

export interface InstallFrame {
  type: "progress";
  kind: "install";
  job_id: string;
  attempt: number;
  project: string; // the install's folder, "." at the workspace's top
  state: "started" | "running" | "finished" | "failed";
  elapsed_s: number;
  output_lines: number;
}

/** A report and when this page received it (its elapsed time counts from the tester's start). */
export interface InstallSeen {
  frame: InstallFrame;
  receivedAt: number; // ms since the epoch, this page's clock
}

export function isInstallFrame(frame: unknown): frame is InstallFrame {
  const f = frame as Partial<InstallFrame> | null;
  return (
    typeof f === "object" &&
    f !== null &&
    f.type === "progress" &&
    f.kind === "install" &&
    typeof f.attempt === "number" &&
    typeof f.elapsed_s === "number" &&
    typeof f.output_lines === "number"
  );
}

export interface StepProgress {
  step: Step;
  label: string;
  startedAt: number | null; // ms since the epoch
  modelCalls: number;
  tokens: number;
  costUsd: number;
  toolCalls: number;
  outputLines: number | null; // an install's, so far; null when no install is running
}

const WORKING: ReadonlySet<string> = new Set(["planning", "coding", "testing", "reviewing", "deploying"]);

function at(event: EventView | undefined): number | null {
  const stamp = Date.parse(String(event?.event.occurred_at ?? ""));
  return Number.isFinite(stamp) ? stamp : null;
}

function latest(events: EventView[], names: string[]): EventView | undefined {
  for (let i = events.length - 1; i >= 0; i -= 1) if (names.includes(events[i].name)) return events[i];
  return undefined;
}

function attemptOf(events: EventView[]): number {
  return Number(latest(events, ["FilesChanged", "CodingFinished"])?.event.attempt ?? 0);
}

function labelOf(step: Step, events: EventView[]): string {
  const first = events.find((e) => e.name === "JobRequested");
  const max = Number(first?.event.max_attempts ?? 0);
  const attempt = attemptOf(events);
  switch (step) {
    case "planning": {
      const drafts = events.filter((e) => e.name === "PlanDrafted").length;
      return drafts ? `Planning: draft ${drafts} being critiqued or revised` : "Planning: drafting the plan";
    }
    case "coding": {
      const finished = events.filter((e) => e.name === "CodingFinished").length;
      const of = max ? ` of ${max}` : "";
      return `Coding: attempt ${finished + 1}${of}`;
    }
    case "testing":
      return `Tests running for attempt ${attempt || 1}: install, run, read the results`;
    case "reviewing":
      return `Reviewing attempt ${attempt || 1}`;
    case "deploying": {
      const target = latest(events, ["DeployAwaitingApproval"])?.event.target;
      return target ? `Deploying to ${String(target)}` : "Deploying";
    }
  }
}

/** The install the test step is running now, from the attempt's last report; null if none. */
function installing(events: EventView[], install: InstallSeen | null | undefined): InstallSeen | null {
  if (!install) return null;
  const { attempt, state } = install.frame;
  if (attempt !== (attemptOf(events) || 1)) return null; // an earlier attempt's
  return state === "started" || state === "running" ? install : null;
}

/** The step the job is working in now, with what it did so far; null when it is not working. */
export function progressOf(
  state: string,
  events: EventView[],
  install?: InstallSeen | null,
): StepProgress | null {
  if (!WORKING.has(state)) return null;
  const step = state as Step;
  const groups = groupBySteps(events);
  const current = groups[groups.length - 1];
  const progress: StepProgress = {
    step,
    label: labelOf(step, events),
    startedAt: null,
    modelCalls: 0,
    tokens: 0,
    costUsd: 0,
    toolCalls: 0,
    outputLines: null,
  };
  const now = step === "testing" ? installing(events, install) : null;
  if (now) {
    const { attempt, project, elapsed_s, output_lines } = now.frame;
    const where = project && project !== "." ? ` in ${project}` : "";
    progress.label = `Installing dependencies${where} for attempt ${attempt}…`;
    progress.startedAt = now.receivedAt - elapsed_s * 1000;
    progress.outputLines = output_lines;
    return progress;
  }
  if (!current || current.step !== step) {
    // The step began with the last event, which closed the step before (CodingFinished...).
    progress.startedAt = at(events[events.length - 1]);
    return progress;
  }
  // A step's group starts with its first own event: the step began when the one before ended.
  const before = groups.length > 1 ? groups[groups.length - 2].events.at(-1) : undefined;
  progress.startedAt = at(before) ?? at(current.events[0]);
  for (const e of current.events) {
    if (e.name === "LlmCalled") progress.modelCalls += 1;
    if (e.name === "ToolCalled") progress.toolCalls += 1;
  }
  progress.tokens = current.llmTokens;
  progress.costUsd = current.costUsd;
  return progress;
}

/** "42 s", "3 min 05 s", "1 h 02 min". */
export function elapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

// The deploy dashboard's data: the sites API's JSON (README "Sites and releases") and what the
// page derives from it. Pure: the components only call these.

export interface Canary {
  release: string;
  percent: number;
  stage: number;
  stages: number;
}

export interface Site {
  id: string;
  repo: string;
  target: string;
  production_url: string | null;
  stable: string | null;
  canary: Canary | null;
  updated_at: string;
}

export type ReleaseState = "preview" | "canary" | "stable" | "promoted_before" | "rolled_back" | "failed";

export interface Release {
  id: string;
  state: ReleaseState;
  traffic_percent: number;
  requests: number;
  errors: number;
  error_rate: number;
  p50_ms: number | null;
  p95_ms: number | null;
  digest: string;
  preview_url: string;
  created_at: string;
  job_id: string | null;
  reason: string | null;
}

export type ReleaseAction = "promote" | "rollback";

/** The buttons a release gets; the API still decides (a 409 says why not, beside the button). */
export function actionsFor(release: Release): ReleaseAction[] {
  switch (release.state) {
    case "canary":
      return ["promote", "rollback"];
    case "preview":
    case "promoted_before": // promoting an older release is the way back to it
      return ["promote"];
    case "stable":
      return ["rollback"];
    default:
      return [];
  }
}

/** "0.4 %" of an error rate given as a fraction (0.004). */
export function percentOf(fraction: number): string {
  const p = fraction * 100;
  return `${p < 10 && p !== 0 ? p.toFixed(1) : p.toFixed(0)} %`;
}

export function millis(ms: number | null): string {
  return ms === null ? "—" : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** "canary r-3 at 10 % (stage 1 of 4)", "stable r-2", "no release yet". */
export function siteStatus(site: Site): string {
  const parts: string[] = [];
  if (site.stable) parts.push(`stable ${site.stable}`);
  if (site.canary) {
    const c = site.canary;
    parts.push(`canary ${c.release} at ${c.percent} % (stage ${c.stage} of ${c.stages})`);
  }
  return parts.join(", ") || "no release yet";
}

/** A release frame of the job's WebSocket ({"type": "release", ...}): one line for the timeline. */
export interface ReleaseFrame {
  type: "release";
  event: string;
  site_id: string;
  release: string;
  [figure: string]: unknown;
}

export function isReleaseFrame(frame: unknown): frame is ReleaseFrame {
  const f = frame as Partial<ReleaseFrame> | null;
  return typeof f === "object" && f !== null && f.type === "release" && typeof f.event === "string";
}

export function describeRelease(frame: ReleaseFrame): string {
  const what = frame.event.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
  const percent = typeof frame.percent === "number" ? ` at ${frame.percent} %` : "";
  return `Release ${frame.release}: ${what}${percent}`;
}

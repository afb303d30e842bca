// The documented REST API, and nothing else. Errors carry the gateway's message so the app can
// show it next to the action that caused it; a 401 also tells the session it has expired.
import type { Release, Site } from "./sites";
import type { EventView } from "./timeline";

export interface Job {
  id: string;
  goal: string;
  repo: string;
  state: string;
  plan_markdown: string;
  plan_versions: string[];
  attempt: number;
  cost_usd: number;
  version: number;
  failed_step: string | null;
  deploy_digest?: string | null; // what a deploy approval approves (base + patches + artifact)
}

export interface JobSummary {
  id: string;
  goal: string | null;
  state: string;
  cost_usd: number;
}

export interface AwaitingCall {
  call_id: string;
  tool: string;
  arguments_json: string;
  reason: string;
}

export interface PlanVersion {
  number: number;
  markdown: string;
  author: string;
  at: string;
  kind?: string;
}

export interface Thread {
  id: string;
  title: string;
  updated_at: string;
}

export interface Message {
  seq: number;
  role: "user" | "agent";
  text: string;
  job_id: string | null;
  at: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Detail = string | { loc?: unknown[]; msg?: string }[] | undefined;

function explain(detail: Detail, fallback: string): string {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => `${(d.loc ?? []).join(".")}: ${d.msg ?? ""}`).join("; ");
  }
  return fallback;
}

type Fetch = (input: string, init: RequestInit) => Promise<Response>;

export class Api {
  constructor(
    private readonly token: () => string | null,
    private readonly onUnauthorized: (detail: string) => void,
    // The browser's fetch; component tests pass one that answers the documented JSON.
    private readonly fetcher: Fetch = (input, init) => fetch(input, init),
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await this.send(method, path, body, "application/json")).json() as Promise<T>;
  }

  async text(path: string): Promise<string> {
    return (await this.send("GET", path, undefined, "text/plain")).text();
  }

  async bytes(path: string, accept: string): Promise<ArrayBuffer> {
    return (await this.send("GET", path, undefined, accept)).arrayBuffer();
  }

  private async send(method: string, path: string, body: unknown, accept: string): Promise<Response> {
    const headers: Record<string, string> = { Accept: accept };
    const token = this.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response: Response;
    try {
      response = await this.fetcher(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, "the gateway does not answer");
    }
    if (!response.ok) {
      const payload = (await response.json().catch(() => ({}))) as { detail?: Detail };
      const message = explain(payload.detail, `${response.status} ${response.statusText}`);
      if (response.status === 401) this.onUnauthorized(message);
      throw new ApiError(response.status, message);
    }
    return response;
  }

  createJob = (goal: string, repo: string) =>
    this.request<Job>("POST", "/jobs", { goal, repo, plan_approval: "gated" });
  listJobs = () => this.request<{ items: JobSummary[] }>("GET", "/jobs?limit=20");
  job = (id: string) => this.request<Job>("GET", `/jobs/${id}`);
  events = (id: string, after: number) =>
    this.request<EventView[]>("GET", `/jobs/${id}/events?after=${after}`);
  act = (id: string, action: string, body?: unknown) =>
    this.request<Job>("POST", `/jobs/${id}/${action}`, body);
  plan = (id: string) =>
    this.request<{ current: string; versions: PlanVersion[] }>("GET", `/jobs/${id}/plan`);
  // The tester's PNG, by its sha256 (the bearer token is needed, so no plain <img src>).
  screenshot = (id: string, digest: string) => this.bytes(`/jobs/${id}/screenshots/${digest}`, "image/png");
  planDiff = (id: string, from: number, to: number) =>
    this.text(`/jobs/${id}/plan/diff?from=${from}&to=${to}`);
  threads = () => this.request<{ items: Thread[] }>("GET", "/threads?limit=50");
  thread = (id: string) => this.request<Thread & { messages: Message[] }>("GET", `/threads/${id}`);
  newThread = (title: string) => this.request<Thread>("POST", "/threads", { title });
  say = (id: string, text: string, jobId: string | null) =>
    this.request<Message>("POST", `/threads/${id}/messages`, { text, job_id: jobId });
  exportThread = (id: string) => this.request<unknown>("GET", `/threads/${id}/export`);
  importThread = (file: unknown) => this.request<Thread>("POST", "/threads/import", file);
  awaitingCalls = (id: string) => this.request<AwaitingCall[]>("GET", `/jobs/${id}/tool-calls`);
  decideCall = (id: string, callId: string, decision: "approve" | "deny") =>
    this.request<Job>("POST", `/jobs/${id}/tool-calls/${callId}/${decision}`);
  sites = () => this.request<{ sites: Site[] }>("GET", "/sites");
  releases = (siteId: string) =>
    this.request<{ site: Site; releases: Release[] }>("GET", `/sites/${siteId}/releases`);
  decideRelease = (release: string, action: "promote" | "rollback", reason: string) =>
    this.request<{ site: Site; release: Release }>(
      "POST",
      `/releases/${encodeURIComponent(release)}/${action}`,
      reason.trim() ? { reason: reason.trim() } : undefined,
    );
}

export function streamUrl(jobId: string, token: string, fromVersion: number): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = new URLSearchParams({ from_version: String(fromVersion), token });
  return `${scheme}://${location.host}/jobs/${jobId}/stream?${query}`;
}

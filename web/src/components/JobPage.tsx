import { lazy, Suspense, useCallback, useEffect, useRef, useState } from "react";
import { Api, ApiError, AwaitingCall, Job, streamUrl } from "../api";
import { JobStream, SocketLike, Status } from "../jobStream";
import { lastViewChange, liveCost } from "../liveCost";
import { InstallSeen } from "../progress";
import { describeRelease, ReleaseFrame } from "../sites";
import { appendEvents, EventView } from "../timeline";
import { Action } from "./Action";
import { BrowserCheck } from "./BrowserCheck";
import { CommandBox } from "./CommandBox";
import { Plan } from "./Plan";
import { StepProgress } from "./StepProgress";
import { Timeline } from "./Timeline";

const Changes = lazy(() => import("./Changes"));
const ENDED = new Set(["done", "failed", "cancelled"]);
const WORKING = new Set(["planning", "coding", "testing", "reviewing", "deploying"]);

interface Props {
  api: Api;
  jobId: string;
  token: string | null;
  onExpired: (detail: string) => void;
}

export function JobPage({ api, jobId, token, onExpired }: Props) {
  const [job, setJob] = useState<Job | null>(null);
  const [events, setEvents] = useState<EventView[]>([]);
  const [status, setStatus] = useState<Status>("connecting");
  const [loadError, setLoadError] = useState<string | null>(null);
  const [calls, setCalls] = useState<AwaitingCall[]>([]);
  const [releases, setReleases] = useState<ReleaseFrame[]>([]);
  const [install, setInstall] = useState<InstallSeen | null>(null);
  const stream = useRef<JobStream | null>(null);

  const refresh = useCallback(() => {
    api.job(jobId).then(setJob, (e: ApiError) => setLoadError(e.message));
  }, [api, jobId]);

  useEffect(() => {
    if (!token) return;
    const s = new JobStream({
      url: (from) => streamUrl(jobId, token, from),
      open: (url) => new WebSocket(url) as unknown as SocketLike,
      onEvents: (incoming) => setEvents((known) => appendEvents(known, incoming)),
      onStatus: (next) => setStatus(next),
      onUnauthorized: onExpired,
      onProgress: (frame) => setInstall({ frame, receivedAt: Date.now() }),
      // Frames are not stored with the job: a reconnection may send one again, keep it once.
      onRelease: (frame) =>
        setReleases((known) =>
          known.some((k) => JSON.stringify(k) === JSON.stringify(frame)) ? known : [...known, frame],
        ),
    });
    stream.current = s;
    s.start();
    return () => s.stop();
  }, [jobId, token, onExpired]);

  const last = events[events.length - 1];
  // Only a job newer than what the stream saw (a retry answered) is worth listening to again.
  const revived =
    status === "ended" && job !== null && !ENDED.has(job.state) && job.version > (last?.version ?? 0);
  useEffect(() => {
    if (revived) stream.current?.start(); // a retried job goes on: listen again
  }, [revived]);
  // Fetched again when an event changes what the job shows; a model call's cost comes with
  // its frame (liveCost), so a busy model does not cost a request per call.
  const viewChange = lastViewChange(events);
  useEffect(() => {
    if (token) refresh();
  }, [refresh, token, viewChange]);

  const waitsOnCall = job?.state === "paused" && events.some((e) => e.name === "ToolCallRequested");
  useEffect(() => {
    if (waitsOnCall) api.awaitingCalls(jobId).then(setCalls, () => setCalls([]));
    else setCalls([]);
  }, [api, jobId, waitsOnCall, last?.version]);

  if (loadError && !job) return <p className="error" role="alert">{loadError}</p>;
  if (!job) return <p aria-busy="true">Loading the job...</p>;

  const act = (action: string) => () => api.act(jobId, action).then(setJob);
  const cost = liveCost(job, events);
  const scores = events.filter((e) => e.name === "PlanCritiqued").map((e) => Number(e.event.score));
  const deploy = [...events].reverse().find((e) => e.name === "DeployAwaitingApproval");
  return (
    <div className="job">
      <section className="summary" aria-labelledby="job-goal">
        <h1 id="job-goal">{job.goal}</h1>
        <p>
          <span className="state" data-testid="job-state">{job.state}</span>
          {WORKING.has(job.state) && <span className="working" aria-label="working"> ⟳</span>} · attempt {job.attempt} ·
          cost <span data-testid="job-cost">${cost.toFixed(4)}</span> · stream{" "}
          <span data-testid="stream-status">{status}</span> (version {last?.version ?? 0})
        </p>
        <StepProgress state={job.state} events={events} install={install} />
        <div className="actions">
          <Action label="Pause" run={act("pause")} />
          <Action label="Resume" run={act("resume")} />
          <Action label="Cancel" run={act("cancel")} />
          <Action label="Retry" run={act("retry")} />
          <button type="button" className="quiet" onClick={() => stream.current?.drop()}>
            Reconnect stream
          </button>
        </div>
      </section>
      {job.state === "awaiting_deploy_approval" && (
        <section className="gate" aria-labelledby="deploy-gate">
          <h2 id="deploy-gate">Deploy waits for you</h2>
          <p>
            Target <code>{String(deploy?.event.target ?? "")}</code>
          </p>
          {deploy?.event.preview ? <pre>{String(deploy.event.preview)}</pre> : null}
          {job.deploy_digest && (
            <p>
              Approving <code data-testid="deploy-digest">{job.deploy_digest}</code>: a change
              to the code or the build after you read it is refused, not published.
            </p>
          )}
          <Action
            label="Approve & Continue"
            run={() =>
              api
                .act(jobId, "deploy/approve", job.deploy_digest ? { digest: job.deploy_digest } : undefined)
                .then(setJob)
            }
            primary
          />
        </section>
      )}
      <BrowserCheck api={api} jobId={jobId} events={events} />
      {calls.map((call) => (
        <section className="gate" key={call.call_id} aria-label={`Tool call ${call.tool}`}>
          <h2>Tool call {call.tool} needs approval</h2>
          <p>{call.reason}</p>
          <pre>{call.arguments_json}</pre>
          <Action label="Approve call" run={() => api.decideCall(jobId, call.call_id, "approve").then(setJob)} primary />
          <Action label="Deny call" run={() => api.decideCall(jobId, call.call_id, "deny").then(setJob)} />
        </section>
      ))}
      {releases.length > 0 && (
        <section className="gate" aria-labelledby="releases-live">
          <h2 id="releases-live">Release</h2>
          <ul className="messages">
            {releases.map((frame, i) => (
              <li key={i}>{describeRelease(frame)}</li>
            ))}
          </ul>
          <a href={`/app/sites/${releases[releases.length - 1].site_id}`}>Open the deploy dashboard</a>
        </section>
      )}
      <CommandBox api={api} job={job} events={events} onJob={setJob} />
      <Plan api={api} job={job} scores={scores} onJob={setJob} />
      {job.attempt > 0 && (
        <Suspense fallback={<p aria-busy="true">Loading the changes...</p>}>
          <Changes api={api} jobId={jobId} version={`${job.attempt}:${job.state}`} />
        </Suspense>
      )}
      <Timeline events={events} />
    </div>
  );
}

// The deploy dashboard: the tenant's sites, a site's releases with their traffic share, error
// rate and latency, and promote / roll back (the API's 409 reason shows beside the button).
import { useCallback, useEffect, useState } from "react";
import { Api, ApiError } from "../api";
import { actionsFor, millis, percentOf, Release, Site, siteStatus } from "../sites";
import { Action } from "./Action";

interface Props {
  api: Api;
  siteId: string | null;
  onOpenSite: (id: string | null) => void;
  onOpenJob: (id: string) => void;
}

const LABELS = { promote: "Promote", rollback: "Roll back" } as const;

export default function Deploys({ api, siteId, onOpenSite, onOpenJob }: Props) {
  const [sites, setSites] = useState<Site[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.sites().then(
      (r) => setSites(r.sites),
      // Before the deployer's routes exist (404) the page is simply empty.
      (e: ApiError) => (e.status === 404 ? setSites([]) : setError(e.message)),
    );
  }, [api]);
  if (error) return <p className="error" role="alert">{error}</p>;
  if (sites === null) return <p aria-busy="true">Loading the sites...</p>;
  return (
    <div className="deploys">
      <h1>Deploys</h1>
      {sites.length === 0 ? (
        <p>No sites yet: a job's approved deploy makes one.</p>
      ) : (
        <table aria-label="Sites">
          <thead>
            <tr>
              <th scope="col">Repository</th>
              <th scope="col">Target</th>
              <th scope="col">Now</th>
              <th scope="col">Production</th>
            </tr>
          </thead>
          <tbody>
            {sites.map((site) => (
              <tr key={site.id} aria-current={site.id === siteId ? "true" : undefined}>
                <td>
                  <a
                    href={`/app/sites/${site.id}`}
                    onClick={(e) => {
                      e.preventDefault();
                      onOpenSite(site.id);
                    }}
                  >
                    {site.repo}
                  </a>
                </td>
                <td>{site.target}</td>
                <td>{siteStatus(site)}</td>
                <td>{site.production_url ? <a href={site.production_url}>{site.production_url}</a> : "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {siteId && <Releases key={siteId} api={api} siteId={siteId} onOpenJob={onOpenJob} />}
    </div>
  );
}

function Releases({ api, siteId, onOpenJob }: { api: Api; siteId: string; onOpenJob: (id: string) => void }) {
  const [data, setData] = useState<{ site: Site; releases: Release[] } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reason, setReason] = useState("");
  const load = useCallback(() => {
    api.releases(siteId).then(setData, (e: ApiError) => setError(e.message));
  }, [api, siteId]);
  useEffect(load, [load]);
  if (error) return <p className="error" role="alert">{error}</p>;
  if (!data) return <p aria-busy="true">Loading the releases...</p>;
  const act = (release: Release, action: "promote" | "rollback") => () =>
    api.decideRelease(release.id, action, reason).then(load);
  return (
    <section className="releases" aria-labelledby="releases-title">
      <h2 id="releases-title">Releases of {data.site.repo}</h2>
      <p>{siteStatus(data.site)}</p>
      <label htmlFor="release-reason">Reason (optional, kept with a promote or rollback)</label>
      <input id="release-reason" value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
      <table aria-label="Releases">
        <thead>
          <tr>
            <th scope="col">Release</th>
            <th scope="col">State</th>
            <th scope="col">Traffic</th>
            <th scope="col">Requests</th>
            <th scope="col">Error rate</th>
            <th scope="col">p50</th>
            <th scope="col">p95</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {data.releases.map((r) => (
            <tr key={r.id} data-release={r.id} data-state={r.state}>
              <th scope="row">
                <a href={r.preview_url}>{r.id}</a>
                <div className="muted">
                  <code title={r.digest}>{r.digest.slice(0, 19)}</code> · {new Date(r.created_at).toLocaleString()}
                  {r.job_id && (
                    <>
                      {" "}·{" "}
                      <a
                        href={`/app/jobs/${r.job_id}`}
                        onClick={(e) => {
                          e.preventDefault();
                          onOpenJob(r.job_id as string);
                        }}
                      >
                        job
                      </a>
                    </>
                  )}
                </div>
                {r.reason && <div className="muted">{r.reason}</div>}
              </th>
              <td>{r.state.replace("_", " ")}</td>
              <td>
                <meter min={0} max={100} value={r.traffic_percent} aria-label={`Traffic of ${r.id}`} />{" "}
                {r.traffic_percent} %
              </td>
              <td>
                {r.requests.toLocaleString("en")} ({r.errors.toLocaleString("en")} errors)
              </td>
              <td>{percentOf(r.error_rate)}</td>
              <td>{millis(r.p50_ms)}</td>
              <td>{millis(r.p95_ms)}</td>
              <td>
                {actionsFor(r).map((a) => (
                  <Action key={a} label={`${LABELS[a]} ${r.id}`} run={act(r, a)} primary={a === "promote"} />
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

import { Fragment, useEffect, useState } from "react";
import { Api, ApiError, Job, PlanVersion } from "../api";
import { Block, blocks, Inline } from "../markdown";
import { Action } from "./Action";
import { DiffView } from "./DiffView";

function Inlines({ parts }: { parts: Inline[] }) {
  return (
    <>
      {parts.map((p, i) =>
        p.kind === "code" ? <code key={i}>{p.text}</code>
        : p.kind === "strong" ? <strong key={i}>{p.text}</strong>
        : p.kind === "em" ? <em key={i}>{p.text}</em>
        : <Fragment key={i}>{p.text}</Fragment>,
      )}
    </>
  );
}

function Rendered({ block }: { block: Block }) {
  switch (block.kind) {
    case "heading": {
      const Tag = `h${Math.min(6, block.level + 2)}` as "h3";
      return <Tag><Inlines parts={block.inlines} /></Tag>;
    }
    case "list": {
      const items = block.items.map((item, i) => <li key={i}><Inlines parts={item} /></li>);
      return block.ordered ? <ol>{items}</ol> : <ul>{items}</ul>;
    }
    case "code":
      return <pre><code>{block.text}</code></pre>;
    default:
      return <p><Inlines parts={block.inlines} /></p>;
  }
}

interface Props {
  api: Api;
  job: Job;
  scores: number[];
  onJob: (job: Job) => void;
}

export function Plan({ api, job, scores, onJob }: Props) {
  const [draft, setDraft] = useState<string | null>(null);
  const [versions, setVersions] = useState<PlanVersion[]>([]);
  const [range, setRange] = useState<[number, number] | null>(null);
  const [diff, setDiff] = useState<string | null>(null);
  const [diffError, setDiffError] = useState<string | null>(null);
  const count = job.plan_versions.length;

  useEffect(() => {
    if (count) api.plan(job.id).then((h) => setVersions(h.versions), () => setVersions([]));
  }, [api, job.id, count]);

  useEffect(() => {
    if (!range) return;
    api.planDiff(job.id, range[0], range[1]).then(
      (text) => {
        setDiff(text);
        setDiffError(null);
      },
      (e: ApiError) => setDiffError(e.message),
    );
  }, [api, job.id, range]);

  const from = range?.[0] ?? Math.max(1, versions.length - 1);
  const to = range?.[1] ?? versions.length;
  return (
    <section className="plan" aria-labelledby="plan-title">
      <h2 id="plan-title">
        Plan{scores.length > 0 && <span className="tokens"> · critique scores {scores.join(", ")} of 10</span>}
      </h2>
      {draft !== null ? (
        <>
          <label htmlFor="plan-editor">Plan (markdown)</label>
          <textarea id="plan-editor" rows={14} value={draft} onChange={(e) => setDraft(e.target.value)} />
          <div className="actions">
            <Action
              label="Save plan"
              primary
              run={() =>
                api.act(job.id, "plan", { plan_markdown: draft }).then((saved) => {
                  onJob(saved);
                  setDraft(null);
                })
              }
            />
            <button type="button" onClick={() => setDraft(null)}>
              Discard edits
            </button>
          </div>
        </>
      ) : job.plan_markdown ? (
        <div className="markdown" data-testid="plan">
          {blocks(job.plan_markdown).map((b, i) => <Rendered key={i} block={b} />)}
        </div>
      ) : (
        <p aria-busy="true">The planner is writing the plan.</p>
      )}
      <div className="actions">
        {job.state === "awaiting_plan_approval" && draft === null && (
          <>
            <Action label="Approve plan" run={() => api.act(job.id, "plan/approve").then(onJob)} primary />
            <button type="button" onClick={() => setDraft(job.plan_markdown)}>
              Edit plan
            </button>
          </>
        )}
      </div>
      {versions.length > 0 && (
        <details className="versions">
          <summary>{versions.length} plan version{versions.length > 1 ? "s" : ""}</summary>
          <ol>
            {versions.map((v) => (
              <li key={v.number}>
                version {v.number}{v.kind ? ` (${v.kind})` : ""} by {v.author}, {new Date(v.at).toLocaleString()}
              </li>
            ))}
          </ol>
          {versions.length > 1 && (
            <div className="row">
              <label htmlFor="diff-from">From</label>
              <select id="diff-from" value={from} onChange={(e) => setRange([Number(e.target.value), to])}>
                {versions.map((v) => <option key={v.number} value={v.number}>{v.number}</option>)}
              </select>
              <label htmlFor="diff-to">to</label>
              <select id="diff-to" value={to} onChange={(e) => setRange([from, Number(e.target.value)])}>
                {versions.map((v) => <option key={v.number} value={v.number}>{v.number}</option>)}
              </select>
              <button type="button" onClick={() => setRange([from, to])}>Show diff</button>
            </div>
          )}
          {diffError && <p className="error" role="alert">{diffError}</p>}
          {diff !== null && <DiffView text={diff} />}
        </details>
      )}
    </section>
  );
}

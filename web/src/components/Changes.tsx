// Loaded on demand (React.lazy): the first page does not carry the diff viewer.
import { useEffect, useState } from "react";
import { Api, ApiError } from "../api";
import { DiffView } from "./DiffView";

interface FileChange {
  paths: string[];
  added: number;
  removed: number;
  patch: string | null;
  event_version: number;
}

interface Attempt {
  number: number;
  outcome: string;
  coder: { summary: string; files: FileChange[] };
  tester_files: FileChange[];
}

export default function Changes({ api, jobId, version }: { api: Api; jobId: string; version: string }) {
  const [attempts, setAttempts] = useState<Attempt[]>([]);
  const [chosen, setChosen] = useState<{ attempt: number; change: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api
      .request<{ attempts: Attempt[] }>("GET", `/jobs/${jobId}/attempts`)
      .then((r) => setAttempts(r.attempts), (e: ApiError) => setError(e.message));
  }, [api, jobId, version]);
  if (error) return <p className="error" role="alert">{error}</p>;
  if (!attempts.length) return null;
  const last = attempts[attempts.length - 1];
  const pick = chosen ?? { attempt: last.number, change: 0 };
  const attempt = attempts.find((a) => a.number === pick.attempt) ?? last;
  const changes = [...attempt.coder.files, ...attempt.tester_files];
  const change = changes[pick.change];
  return (
    <section className="changes" aria-labelledby="changes-title">
      <h2 id="changes-title">Changes</h2>
      <div className="row" role="group" aria-label="Attempts">
        {attempts.map((a) => (
          <button
            key={a.number}
            type="button"
            aria-pressed={a.number === attempt.number}
            onClick={() => setChosen({ attempt: a.number, change: 0 })}
          >
            Attempt {a.number} ({a.outcome})
          </button>
        ))}
      </div>
      {attempt.coder.summary && <p>{attempt.coder.summary}</p>}
      <ul className="files" aria-label="Changed files">
        {changes.map((c, i) => (
          <li key={c.event_version}>
            <button
              type="button"
              className="quiet"
              aria-pressed={i === pick.change}
              onClick={() => setChosen({ attempt: attempt.number, change: i })}
            >
              {c.paths.join(", ") || "(no paths)"}
            </button>{" "}
            <span className="add">+{c.added}</span> <span className="del">−{c.removed}</span>
          </li>
        ))}
      </ul>
      {change?.patch && <DiffView text={change.patch} label="Patch" />}
    </section>
  );
}

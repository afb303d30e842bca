// Loaded on demand (React.lazy): the first page carries neither this nor Monaco.
import { lazy, Suspense, useEffect, useMemo, useState } from "react";
import { Api, ApiError } from "../api";
import { FileSides, patchSides } from "../diff/patchSides";
import { DiffView } from "./DiffView";
import { FailToPass, FailToPassCheck } from "./FailToPass";

// Monaco (~2.8 MB) only once there is a file to show: an attempt that changed nothing (a failed
// coding step) does not fetch it.
const MonacoDiff = lazy(() => import("./MonacoDiff").then((m) => ({ default: m.MonacoDiff })));

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
  tester: { fail_to_pass?: FailToPassCheck | null } | null;
}

/** The files an attempt changed, one entry per file of each of its patches, in order. */
export function filesOf(attempt: Attempt): FileSides[] {
  return [...attempt.coder.files, ...attempt.tester_files].flatMap((c) =>
    c.patch ? patchSides(c.patch) : c.paths.map((path) => ({ path, original: "", modified: "", added: c.added, removed: c.removed })),
  );
}

export default function Changes({ api, jobId, version }: { api: Api; jobId: string; version: string }) {
  const [attempts, setAttempts] = useState<Attempt[]>([]);
  const [chosen, setChosen] = useState<{ attempt: number; file: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api
      .request<{ attempts: Attempt[] }>("GET", `/jobs/${jobId}/attempts`)
      .then((r) => setAttempts(r.attempts), (e: ApiError) => setError(e.message));
  }, [api, jobId, version]);
  const last = attempts[attempts.length - 1];
  const pick = chosen ?? { attempt: last?.number ?? 0, file: 0 };
  const attempt = attempts.find((a) => a.number === pick.attempt) ?? last;
  const files = useMemo(() => (attempt ? filesOf(attempt) : []), [attempt]);
  if (error) return <p className="error" role="alert">{error}</p>;
  if (!attempt) return null;
  const file = files[pick.file];
  const patches = [...attempt.coder.files, ...attempt.tester_files].map((c) => c.patch ?? "").join("\n");
  return (
    <section className="changes" aria-labelledby="changes-title">
      <h2 id="changes-title">Changes</h2>
      <div className="row" role="group" aria-label="Attempts">
        {attempts.map((a) => (
          <button
            key={a.number}
            type="button"
            aria-pressed={a.number === attempt.number}
            onClick={() => setChosen({ attempt: a.number, file: 0 })}
          >
            Attempt {a.number} ({a.outcome})
          </button>
        ))}
      </div>
      {attempt.coder.summary && <p>{attempt.coder.summary}</p>}
      <FailToPass check={attempt.tester?.fail_to_pass} attempt={attempt.number} />
      <div className="diff-pane">
        <ul className="files" aria-label="Changed files">
          {files.map((f, i) => (
            <li key={`${i}-${f.path}`}>
              <button
                type="button"
                className="quiet"
                aria-pressed={i === pick.file}
                onClick={() => setChosen({ attempt: attempt.number, file: i })}
              >
                {f.path || "(no path)"}
              </button>{" "}
              <span className="add">+{f.added}</span> <span className="del">−{f.removed}</span>
            </li>
          ))}
        </ul>
        {file && (
          <Suspense fallback={<p aria-busy="true">Loading the diff editor...</p>}>
            <MonacoDiff file={file} />
          </Suspense>
        )}
      </div>
      {patches.trim() && (
        <details>
          <summary>Raw patch</summary>
          <DiffView text={patches} label="Patch" />
        </details>
      )}
    </section>
  );
}

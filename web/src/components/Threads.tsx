import { useEffect, useState } from "react";
import { Api, ApiError, Message, Thread } from "../api";

interface Props {
  api: Api;
  current: string | null;
  version: number; // bumped when a message was added elsewhere
  onSelect: (id: string | null) => void;
  onOpenJob: (id: string) => void;
}

// The person's threads: one is current, and the goals typed on the home page go into it.
export function Threads({ api, current, version, onSelect, onOpenJob }: Props) {
  const [threads, setThreads] = useState<Thread[]>([]);
  const [messages, setMessages] = useState<Message[]>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.threads().then((page) => setThreads(page.items), () => setThreads([]));
  }, [api, current, version]);
  useEffect(() => {
    if (!current) return setMessages([]);
    api.thread(current).then(
      (t) => setMessages(t.messages),
      (e: ApiError) => e.status === 404 && onSelect(null), // gone; a 401 keeps it for later
    );
  }, [api, current, version, onSelect]);

  const fail = (e: unknown) => setError(e instanceof ApiError ? e.message : String(e));
  const exportIt = async () => {
    if (!current) return;
    const file = await api.exportThread(current).catch(fail);
    if (!file) return;
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([JSON.stringify(file, null, 2)], { type: "application/json" }));
    link.download = `thread-${current}.json`;
    link.click();
    URL.revokeObjectURL(link.href);
  };
  const importIt = async (file: File) => {
    setError(null);
    let parsed: unknown;
    try {
      parsed = JSON.parse(await file.text());
    } catch {
      return setError(`${file.name} is not JSON: nothing was imported`);
    }
    try {
      onSelect((await api.importThread(parsed)).id);
    } catch (e) {
      fail(e);
    }
  };

  return (
    <section className="threads" aria-labelledby="threads-title">
      <h2 id="threads-title">Threads</h2>
      <div className="row">
        <label htmlFor="thread">Current thread</label>
        <select id="thread" value={current ?? ""} onChange={(e) => onSelect(e.target.value || null)}>
          <option value="">(a new one with the next goal)</option>
          {threads.map((t) => (
            <option key={t.id} value={t.id}>
              {t.title}
            </option>
          ))}
        </select>
        <button type="button" disabled={!current} onClick={() => void exportIt()}>
          Export
        </button>
        <label className="file">
          Import
          <input
            type="file"
            accept="application/json,.json"
            onChange={(e) => {
              const file = e.target.files?.[0];
              if (file) void importIt(file);
              e.target.value = "";
            }}
          />
        </label>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <ol className="messages" aria-label="Messages">
        {messages.map((m) => (
          <li key={m.seq} className={m.role}>
            <span className="who">{m.role === "user" ? "you" : "agent"}</span> {m.text}
            {m.job_id && (
              <>
                {" "}
                <a
                  href={`/app/jobs/${m.job_id}`}
                  onClick={(e) => {
                    e.preventDefault();
                    onOpenJob(m.job_id!);
                  }}
                >
                  open job
                </a>
              </>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}

import { useState } from "react";
import { Api, ApiError } from "../api";
import { completions, parse } from "../slash";
import { SlashHints } from "./SlashHints";

const DRAFT = "bdg.draft";

function draft(): { goal: string; repo: string } {
  try {
    return JSON.parse(sessionStorage.getItem(DRAFT) ?? "") as { goal: string; repo: string };
  } catch {
    return { goal: "", repo: "" };
  }
}

interface Props {
  api: Api;
  thread: string | null;
  onThread: (id: string) => void;
  onCreated: (id: string) => void;
}

export function GoalForm({ api, thread, onThread, onCreated }: Props) {
  const [{ goal, repo }, setDraft] = useState(draft);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const update = (next: { goal: string; repo: string }) => {
    sessionStorage.setItem(DRAFT, JSON.stringify(next));
    setDraft(next);
  };
  const options = completions(goal);

  const submit = async () => {
    const parsed = parse(goal);
    let text = goal.trim();
    if (parsed.kind === "unknown") return setError(`unknown command /${parsed.name}`);
    if (parsed.kind === "command") {
      if (parsed.command.name !== "plan") {
        return setError(`/${parsed.command.name} works on a job: open one first`);
      }
      text = parsed.args;
    }
    if (!text) return setError("goal: type what the agent should do");
    setBusy(true);
    setError(null);
    try {
      const job = await api.createJob(text, repo.trim());
      // The goal joins the current thread (a new one named after it when there is none).
      const into = thread ?? (await api.newThread(text.slice(0, 80))).id;
      await api.say(into, text, job.id);
      onThread(into);
      update({ goal: "", repo });
      onCreated(job.id);
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="goal"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h1>What should the agent do?</h1>
      <label htmlFor="goal">Goal</label>
      <textarea
        id="goal"
        rows={3}
        value={goal}
        aria-describedby="goal-hints"
        onChange={(e) => update({ goal: e.target.value, repo })}
        onKeyDown={(e) => {
          if (e.key === "Tab" && options.length === 1) {
            e.preventDefault();
            update({ goal: `/${options[0].name} `, repo });
          }
        }}
      />
      <SlashHints id="goal-hints" input={goal} />
      <label htmlFor="repo">Repository (clone URL or granted work tree)</label>
      <input id="repo" value={repo} onChange={(e) => update({ goal, repo: e.target.value })} />
      <div className="row">
        <button type="submit" disabled={busy}>
          Start job
        </button>
        {error && (
          <span className="error" role="alert">
            {error}
          </span>
        )}
      </div>
    </form>
  );
}

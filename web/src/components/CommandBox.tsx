import { useState } from "react";
import { Api, ApiError, Job } from "../api";
import { jobCommand } from "../jobCommands";
import { liveCost } from "../liveCost";
import { completions } from "../slash";
import { EventView } from "../timeline";
import { SlashHints } from "./SlashHints";

interface Props {
  api: Api;
  job: Job;
  events: EventView[];
  onJob: (job: Job) => void;
}

export function CommandBox({ api, job, events, onJob }: Props) {
  const [input, setInput] = useState("");
  const [answer, setAnswer] = useState<{ text: string; error: boolean } | null>(null);
  const options = completions(input);
  const run = async () => {
    const command = jobCommand(input, liveCost(job, events), events);
    if (command.kind !== "act") {
      setAnswer({ text: command.text, error: command.kind === "error" });
      return;
    }
    try {
      onJob(await api.act(job.id, command.action, command.body));
      setAnswer({ text: `${input.trim()}: done`, error: false });
      setInput("");
    } catch (e) {
      setAnswer({ text: e instanceof ApiError ? e.message : String(e), error: true });
    }
  };
  return (
    <form
      className="command"
      onSubmit={(e) => {
        e.preventDefault();
        void run();
      }}
    >
      <label htmlFor="command">Command</label>
      <div className="row">
        <input
          id="command"
          value={input}
          placeholder="/cost, /test, /cancel [reason], /retry, /deploy"
          aria-describedby="command-hints"
          onChange={(e) => setInput(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Tab" && options.length === 1) {
              e.preventDefault();
              setInput(`/${options[0].name} `);
            }
          }}
        />
        <button type="submit">Run</button>
      </div>
      <SlashHints id="command-hints" input={input} />
      {answer && (
        <p className={answer.error ? "error" : undefined} role={answer.error ? "alert" : "status"}>
          {answer.text}
        </p>
      )}
    </form>
  );
}

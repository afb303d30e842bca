// The working step's indicator: what it does, for how long, and its model calls so far (or,
// while the tester installs dependencies, the install's output lines so far).
import { useEffect, useState } from "react";
import { elapsed, InstallSeen, progressOf } from "../progress";
import { EventView } from "../timeline";

export function StepProgress({
  state,
  events,
  install,
}: {
  state: string;
  events: EventView[];
  install?: InstallSeen | null;
}) {
  const progress = progressOf(state, events, install);
  const [now, setNow] = useState(() => Date.now());
  const working = progress !== null;
  useEffect(() => {
    if (!working) return;
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(tick);
  }, [working]);
  if (!progress) return null;
  const { label, startedAt, modelCalls, tokens, costUsd, toolCalls, outputLines } = progress;
  return (
    <div className="progress" data-testid="progress" data-step={progress.step}>
      <progress aria-label={label} />
      <span>
        {label}
        {startedAt !== null && <> · for {elapsed(now - startedAt)}</>}
        {modelCalls > 0 && (
          <>
            {" "}· {modelCalls} model call{modelCalls === 1 ? "" : "s"}, {tokens.toLocaleString("en")} tokens, $
            {costUsd.toFixed(4)}
          </>
        )}
        {toolCalls > 0 && <> · {toolCalls} tool call{toolCalls === 1 ? "" : "s"}</>}
        {outputLines !== null && (
          <>
            {" "}· {outputLines.toLocaleString("en")} line{outputLines === 1 ? "" : "s"} of output
          </>
        )}
      </span>
    </div>
  );
}

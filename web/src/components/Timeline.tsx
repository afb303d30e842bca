import { describe, EventView, groupBySteps } from "../timeline";

export function Timeline({ events }: { events: EventView[] }) {
  const groups = groupBySteps(events);
  return (
    <section className="timeline" aria-labelledby="timeline-title">
      <h2 id="timeline-title">Timeline</h2>
      <ol className="steps" aria-live="polite">
        {groups.map((group) => (
          <li key={group.key} className="step" data-step={group.step}>
            <h3>
              {group.step}
              {group.llmTokens > 0 && (
                <span className="tokens">
                  {" "}· {group.llmTokens} tokens, ${group.costUsd.toFixed(4)}
                </span>
              )}
            </h3>
            <ol className="events">
              {group.events.map((e) => (
                <li key={e.version} data-version={e.version}>
                  <span className="version">{e.version}</span> {describe(e)}
                </li>
              ))}
            </ol>
          </li>
        ))}
      </ol>
    </section>
  );
}

import { useEffect, useState } from "react";
import { Api } from "../api";
import { EventView } from "../timeline";

// The newest test run that has a browser check screenshot: what the tester saw in Chromium.
export function lastCheck(events: EventView[]): EventView | undefined {
  return [...events]
    .reverse()
    .find((e) => (e.name === "TestsPassed" || e.name === "TestsFailed") && screenshotOf(e));
}

function screenshotOf(event: EventView): string {
  const results = event.event.results as { screenshot?: unknown } | undefined;
  return typeof results?.screenshot === "string" ? results.screenshot : "";
}

// A data: URL, which the Content-Security-Policy allows for images (blob: it does not).
function dataUrl(png: ArrayBuffer): string {
  const bytes = new Uint8Array(png);
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return `data:image/png;base64,${btoa(text)}`;
}

export function BrowserCheck({ api, jobId, events }: { api: Api; jobId: string; events: EventView[] }) {
  const check = lastCheck(events);
  const digest = check ? screenshotOf(check) : "";
  const [src, setSrc] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!digest) return;
    api.screenshot(jobId, digest).then(dataUrl).then(setSrc, (e: Error) => setError(e.message));
  }, [api, jobId, digest]);
  if (!check) return null;
  const passed = check.name === "TestsPassed";
  const results = check.event.results as { browser?: unknown };
  const alt = `Browser check screenshot, attempt ${String(check.event.attempt)} (${passed ? "passed" : "failed"})`;
  return (
    <section className="browser-check" aria-labelledby="browser-check">
      <h2 id="browser-check">Browser check</h2>
      {typeof results.browser === "string" && results.browser && <p>{results.browser}</p>}
      {error && <p className="error" role="alert">{error}</p>}
      {src && <img src={src} alt={alt} width={640} height={357} />}
    </section>
  );
}

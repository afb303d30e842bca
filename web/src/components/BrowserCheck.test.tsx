// @vitest-environment jsdom
import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, expect, test } from "vitest";
import { Api } from "../api";
import { EventView } from "../timeline";
import { BrowserCheck } from "./BrowserCheck";

afterEach(cleanup);

const DIGEST = "a".repeat(64);
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function passed(version: number, screenshot: string): EventView {
  const results = { total: 8, failed: 0, browser: "loaded; PWA: manifest, service worker, offline", screenshot };
  return { version, name: "TestsPassed", event: { attempt: 1, results } };
}

/** An Api whose fetch serves the PNG at the screenshot route (and 404 elsewhere), with the token. */
function apiServing(seen: { path: string; auth: string }[]) {
  return new Api(
    () => "token",
    () => undefined,
    async (path, init) => {
      const auth = String((init.headers as Record<string, string>).Authorization);
      seen.push({ path, auth });
      if (path === `/jobs/j1/screenshots/${DIGEST}`) {
        return new Response(PNG, { status: 200, headers: { "Content-Type": "image/png" } });
      }
      return new Response(JSON.stringify({ detail: "no such screenshot" }), { status: 404 });
    },
  );
}

test("the newest test run's screenshot is fetched with the token and shown", async () => {
  const seen: { path: string; auth: string }[] = [];
  render(<BrowserCheck api={apiServing(seen)} jobId="j1" events={[passed(5, DIGEST)]} />);
  const img = await screen.findByRole("img", { name: "Browser check screenshot, attempt 1 (passed)" });
  expect(img.getAttribute("src")).toMatch(/^data:image\/png;base64,iVBORw0KGgo/);
  expect(seen).toEqual([{ path: `/jobs/j1/screenshots/${DIGEST}`, auth: "Bearer token" }]);
  expect(screen.getByText(/manifest, service worker, offline/)).toBeTruthy();
});

test("a screenshot the gateway does not have says so; no run with one shows nothing", async () => {
  const other = "b".repeat(64);
  render(<BrowserCheck api={apiServing([])} jobId="j1" events={[passed(5, other)]} />);
  expect((await screen.findByRole("alert")).textContent).toBe("no such screenshot");
  cleanup();
  const { container } = render(<BrowserCheck api={apiServing([])} jobId="j1" events={[passed(5, "")]} />);
  expect(container.innerHTML).toBe("");
});

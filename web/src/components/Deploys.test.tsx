// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, expect, test } from "vitest";
import { Api } from "../api";
import { RELEASES, SITE } from "../fixtures/sites";
import Deploys from "./Deploys";

afterEach(cleanup);

type Answer = { status: number; body: unknown };
interface Sent {
  method: string;
  path: string;
  body: unknown;
}

/** An Api whose fetch answers from a table of (method path) -> JSON, recording what was sent. */
function apiAnswering(answers: Record<string, Answer | (() => Answer)>) {
  const sent: Sent[] = [];
  const api = new Api(
    () => "token",
    () => undefined,
    async (path, init) => {
      const method = init.method ?? "GET";
      sent.push({ method, path, body: init.body ? JSON.parse(String(init.body)) : undefined });
      const found = answers[`${method} ${path}`];
      const answer = typeof found === "function" ? found() : (found ?? { status: 404, body: { detail: "Not Found" } });
      return new Response(JSON.stringify(answer.body), {
        status: answer.status,
        headers: { "Content-Type": "application/json" },
      });
    },
  );
  return { api, sent };
}

const noop = () => undefined;

test("before the deployer's routes exist (404) the page says there are no sites yet", async () => {
  const { api } = apiAnswering({});
  render(<Deploys api={api} siteId={null} onOpenSite={noop} onOpenJob={noop} />);
  expect(await screen.findByText(/No sites yet/)).toBeTruthy();
});

test("sites list their stable and canary; a site's releases show traffic, errors, latency", async () => {
  const { api } = apiAnswering({
    "GET /sites": { status: 200, body: { sites: [SITE] } },
    [`GET /sites/${SITE.id}/releases`]: { status: 200, body: { site: SITE, releases: RELEASES } },
  });
  const opened: (string | null)[] = [];
  render(<Deploys api={api} siteId={SITE.id} onOpenSite={(id) => opened.push(id)} onOpenJob={noop} />);
  const sites = await screen.findByRole("table", { name: "Sites" });
  expect(within(sites).getByText("stable notes-2, canary notes-3 at 10 % (stage 1 of 4)")).toBeTruthy();
  fireEvent.click(within(sites).getByRole("link", { name: SITE.repo }));
  expect(opened).toEqual([SITE.id]);

  const releases = await screen.findByRole("table", { name: "Releases" });
  const rows = within(releases).getAllByRole("row").slice(1);
  expect(rows.map((r) => r.dataset.release)).toEqual(["notes-3", "notes-2", "notes-1"]);
  const canary = within(rows[0]);
  expect(canary.getByRole("meter", { name: "Traffic of notes-3" }).getAttribute("value")).toBe("10");
  expect(canary.getByText("0.4 %")).toBeTruthy();
  expect(canary.getByText("39 ms")).toBeTruthy(); // p50 38.5
  expect(canary.getByText("212 ms")).toBeTruthy();
  expect(canary.getByText("1,204 (5 errors)")).toBeTruthy();
  // Buttons by state: a canary can go either way, the stable only back, a rolled back one neither.
  expect(canary.getAllByRole("button").map((b) => b.textContent)).toEqual(["Promote notes-3", "Roll back notes-3"]);
  expect(within(rows[1]).getAllByRole("button").map((b) => b.textContent)).toEqual(["Roll back notes-2"]);
  expect(within(rows[2]).queryAllByRole("button")).toEqual([]);
  expect(within(rows[2]).getByText("error rate 12 % over the 5 % threshold")).toBeTruthy();
  expect(within(rows[2]).getAllByText("—")).toHaveLength(2); // no latency without requests
});

test("promote sends the reason and shows the site as it is after", async () => {
  const promoted = {
    ...SITE,
    stable: "notes-3",
    canary: null,
  };
  let answered = false;
  const { api, sent } = apiAnswering({
    "GET /sites": { status: 200, body: { sites: [SITE] } },
    [`GET /sites/${SITE.id}/releases`]: () => ({
      status: 200,
      body: answered
        ? {
            site: promoted,
            releases: [
              { ...RELEASES[0], state: "stable", traffic_percent: 100 },
              { ...RELEASES[1], state: "promoted_before", traffic_percent: 0 },
            ],
          }
        : { site: SITE, releases: RELEASES },
    }),
    "POST /releases/notes-3/promote": () => {
      answered = true;
      return { status: 202, body: { site: promoted, release: { ...RELEASES[0], state: "stable" } } };
    },
  });
  render(<Deploys api={api} siteId={SITE.id} onOpenSite={noop} onOpenJob={noop} />);
  fireEvent.change(await screen.findByLabelText(/Reason/), { target: { value: "  metrics look fine " } });
  fireEvent.click(await screen.findByRole("button", { name: "Promote notes-3" }));
  await waitFor(() => expect(screen.getAllByText("stable notes-3").length).toBeGreaterThan(0));
  expect(sent.find((s) => s.method === "POST")).toEqual({
    method: "POST",
    path: "/releases/notes-3/promote",
    body: { reason: "metrics look fine" },
  });
  expect(screen.getByRole("button", { name: "Promote notes-2" })).toBeTruthy(); // the way back
});

test("a 409 is shown beside the button that caused it, and nothing else changes", async () => {
  const { api, sent } = apiAnswering({
    "GET /sites": { status: 200, body: { sites: [SITE] } },
    [`GET /sites/${SITE.id}/releases`]: { status: 200, body: { site: SITE, releases: RELEASES } },
    "POST /releases/notes-2/rollback": {
      status: 409,
      body: { detail: "notes-2 has no release before it to roll back to" },
    },
  });
  render(<Deploys api={api} siteId={SITE.id} onOpenSite={noop} onOpenJob={noop} />);
  const button = await screen.findByRole("button", { name: "Roll back notes-2" });
  fireEvent.click(button);
  const beside = within(button.parentElement as HTMLElement);
  expect((await beside.findByRole("alert")).textContent).toBe("notes-2 has no release before it to roll back to");
  expect(sent.filter((s) => s.method === "POST")).toEqual([
    { method: "POST", path: "/releases/notes-2/rollback", body: undefined },
  ]);
  expect(sent.filter((s) => s.path.endsWith("/releases"))).toHaveLength(1); // not reloaded
});

test("another tenant's site (404) says so instead of a table", async () => {
  const { api } = apiAnswering({
    "GET /sites": { status: 200, body: { sites: [] } },
    [`GET /sites/${SITE.id}/releases`]: { status: 404, body: { detail: `no site ${SITE.id}` } },
  });
  render(<Deploys api={api} siteId={SITE.id} onOpenSite={noop} onOpenJob={noop} />);
  expect((await screen.findByRole("alert")).textContent).toBe(`no site ${SITE.id}`);
});

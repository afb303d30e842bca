import { expect, it } from "vitest";
import { JobStream, SocketLike, Status } from "./jobStream";
import type { ReleaseFrame } from "./sites";
import type { EventView } from "./timeline";

class FakeSocket implements SocketLike {
  onmessage: SocketLike["onmessage"] = null;
  onclose: SocketLike["onclose"] = null;
  onopen: SocketLike["onopen"] = null;
  closed: number | null = null;
  constructor(readonly url: string) {}
  send(version: number) {
    this.onmessage?.({ data: JSON.stringify({ version, name: "E", event: {} }) });
  }
  close(code = 1000) {
    this.closed = code;
    this.onclose?.({ code, reason: "" });
  }
}

function harness() {
  const sockets: FakeSocket[] = [];
  const seen: number[] = [];
  const statuses: Status[] = [];
  const pending: (() => void)[] = [];
  const unauthorized: string[] = [];
  const releases: ReleaseFrame[] = [];
  const stream = new JobStream({
    url: (from) => `ws://gw/jobs/j/stream?from_version=${from}`,
    open: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    onEvents: (events: EventView[]) => seen.push(...events.map((e) => e.version)),
    onStatus: (s) => statuses.push(s),
    onUnauthorized: (d) => unauthorized.push(d),
    onRelease: (f) => releases.push(f),
    schedule: (run) => pending.push(run),
  });
  return { stream, sockets, seen, statuses, pending, unauthorized, releases };
}

it("reconnects from the last version seen, with no gap and no duplicate", () => {
  const h = harness();
  h.stream.start();
  h.sockets[0].onopen?.();
  [1, 2, 3].forEach((v) => h.sockets[0].send(v));
  h.sockets[0].close(1006); // the network drops
  expect(h.pending).toHaveLength(1);
  h.pending.shift()!();
  expect(h.sockets[1].url).toBe("ws://gw/jobs/j/stream?from_version=3");
  [3, 4, 5].forEach((v) => h.sockets[1].send(v)); // a replayed 3 is ignored
  expect(h.seen).toEqual([1, 2, 3, 4, 5]);
  expect(h.statuses).toContain("reconnecting");
});

it("treats a gap as a drop and asks again from what it has", () => {
  const h = harness();
  h.stream.start();
  h.sockets[0].send(1);
  h.sockets[0].send(3);
  expect(h.sockets[0].closed).toBe(4000);
  h.pending.shift()!();
  expect(h.sockets[1].url).toContain("from_version=1");
  expect(h.seen).toEqual([1]);
});

it("stops on an expired token and says so, instead of retrying", () => {
  const h = harness();
  h.stream.start();
  h.sockets[0].onclose?.({ code: 4401, reason: "token expired" });
  expect(h.unauthorized).toEqual(["token expired"]);
  expect(h.pending).toHaveLength(0);
});

it("does not reconnect after stop", () => {
  const h = harness();
  h.stream.start();
  h.stream.stop();
  expect(h.pending).toHaveLength(0);
  expect(h.statuses[h.statuses.length - 1]).toBe("closed");
});

it("stops when the server says the job ended, and starts again from where it was", () => {
  const h = harness();
  h.stream.start();
  [1, 2].forEach((v) => h.sockets[0].send(v));
  h.sockets[0].onclose?.({ code: 1000, reason: "job failed" });
  expect(h.pending).toHaveLength(0);
  expect(h.statuses[h.statuses.length - 1]).toBe("ended");
  h.stream.start(); // the failed step was retried
  expect(h.sockets[1].url).toContain("from_version=2");
});

it("hands release frames on without taking them for a gap", () => {
  const h = harness();
  h.stream.start();
  h.sockets[0].send(1);
  const frame = { type: "release", event: "CanaryAdvanced", site_id: "s", release: "r-2", percent: 25 };
  h.sockets[0].onmessage?.({ data: JSON.stringify(frame) });
  h.sockets[0].send(2);
  expect(h.sockets[0].closed).toBeNull();
  expect(h.seen).toEqual([1, 2]);
  expect(h.releases).toEqual([frame]);
});

it("an install report goes to onProgress, not to the events, and moves no version", () => {
  const progress: unknown[] = [];
  const seen: number[] = [];
  let socket: FakeSocket | null = null;
  const stream = new JobStream({
    url: (from) => `ws://gw/jobs/j/stream?from_version=${from}`,
    open: (url) => (socket = new FakeSocket(url)),
    onEvents: (events) => seen.push(...events.map((e) => e.version)),
    onStatus: () => undefined,
    onUnauthorized: () => undefined,
    onProgress: (frame) => progress.push(frame),
  });
  stream.start();
  const report = { type: "progress", kind: "install", job_id: "j", attempt: 1, project: ".", state: "running", elapsed_s: 3, output_lines: 9 };
  socket!.send(1);
  socket!.onmessage?.({ data: JSON.stringify(report) });
  socket!.send(2);
  expect(progress).toEqual([report]);
  expect(seen).toEqual([1, 2]);
  expect(stream.seen).toBe(2);
});

// The job's WebSocket, kept open: after a drop (network, laptop sleep, gateway restart) it
// reconnects with from_version = the last version seen, so the server sends exactly what is
// missing. The close codes the gateway uses for refusals stop it instead (ws.py).
import { InstallFrame, isInstallFrame } from "./progress";
import { isReleaseFrame, ReleaseFrame } from "./sites";
import type { EventView } from "./timeline";

export interface SocketLike {
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onopen: (() => void) | null;
  close(code?: number): void;
}

export type Status = "connecting" | "live" | "reconnecting" | "ended" | "closed";

export interface StreamOptions {
  url: (fromVersion: number) => string;
  open: (url: string) => SocketLike;
  onEvents: (events: EventView[]) => void;
  onStatus: (status: Status, detail?: string) => void;
  onUnauthorized: (detail: string) => void;
  // The deployer's release frames ({"type": "release"}): figures, not job events (no version).
  onRelease?: (frame: ReleaseFrame) => void;
  // The tester's install reports ({"type": "progress"}): sent while listening, never stored.
  onProgress?: (frame: InstallFrame) => void;
  schedule?: (run: () => void, ms: number) => unknown;
  fromVersion?: number;
}

const REFUSED = new Set([4400, 4401, 4404]);
const JOB_ENDED = 1000; // the server's close after the job's last event, reason "job <state>"
const MAX_DELAY_MS = 10_000;

export class JobStream {
  private lastVersion: number;
  private socket: SocketLike | null = null;
  private stopped = false;
  private failures = 0;

  constructor(private readonly options: StreamOptions) {
    this.lastVersion = options.fromVersion ?? 0;
  }

  get seen(): number {
    return this.lastVersion;
  }

  /** Connect (again, after "ended"), from the last version seen. */
  start(): void {
    this.stopped = false;
    this.connect("connecting");
  }

  stop(): void {
    this.stopped = true;
    this.socket?.close(1000);
    this.socket = null;
    this.options.onStatus("closed");
  }

  /** Drop the connection as a network would (tests, and the "reconnect" button). */
  drop(): void {
    this.socket?.close(4000);
  }

  private connect(status: Status): void {
    this.options.onStatus(status);
    const socket = this.options.open(this.options.url(this.lastVersion));
    this.socket = socket;
    socket.onopen = () => {
      this.failures = 0;
      this.options.onStatus("live");
    };
    socket.onmessage = (message) => this.receive(message.data);
    socket.onclose = (closed) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.stopped) return;
      if (closed.code === 4401) {
        this.options.onUnauthorized(closed.reason || "token expired");
        this.options.onStatus("closed", closed.reason);
        return;
      }
      if (closed.code === JOB_ENDED && closed.reason.startsWith("job ")) {
        // Done, failed or cancelled: nothing more will come unless a retry revives the job.
        this.options.onStatus("ended", closed.reason);
        return;
      }
      if (REFUSED.has(closed.code)) {
        this.options.onStatus("closed", closed.reason);
        return;
      }
      this.failures += 1;
      const delay = Math.min(MAX_DELAY_MS, 250 * 2 ** (this.failures - 1));
      const schedule = this.options.schedule ?? ((run, ms) => setTimeout(run, ms));
      schedule(() => {
        if (!this.stopped) this.connect("reconnecting");
      }, delay);
    };
  }

  private receive(data: unknown): void {
    if (typeof data !== "string") return;
    const frame: unknown = JSON.parse(data);
    if (isReleaseFrame(frame)) {
      this.options.onRelease?.(frame);
      return;
    }
    if (isInstallFrame(frame)) {
      this.options.onProgress?.(frame);
      return;
    }
    const event = frame as EventView;
    if (event.version <= this.lastVersion) return; // already shown
    if (event.version !== this.lastVersion + 1) {
      // A gap should not happen (the server fills them); reconnect from what we have.
      this.socket?.close(4000);
      return;
    }
    this.lastVersion = event.version;
    this.options.onEvents([event]);
  }
}

import type { ServerSessionEndReason } from "./session/server-session.js";

/** A snapshot of a server's counters and gauges (`server.metrics()`). */
export interface ServerMetrics {
  /** Live sessions now. */
  sessions: number;
  /** Open connections now, in total and per transport name. */
  connections: number;
  connectionsByTransport: Record<string, number>;
  sessionsOpened: number;
  sessionsResumed: number;
  /** Ended sessions by reason. */
  sessionsEnded: Record<ServerSessionEndReason, number>;
  /** Goodbyes sent, by close code (4000-4011; see docs/PROTOCOL.md). */
  goodbyes: Record<number, number>;
  /** Connections refused for `maxConnectionsPerAddress` / `maxConnections`. */
  refusedPerAddress: number;
  refusedTotal: number;
  /** Connections aborted for queueing more than `maxOutboundBytes`. */
  slowConsumers: number;
  /** Times reading paused because `maxInFlightPerConnection` requests were running. */
  readPauses: number;
  /** Expiry timer firings found late by more than a tick (stalled event loop). */
  stalls: number;
  /** Connections the transport closed for a frame over `maxFrameBytes`. */
  oversizedFrames: number;
}

/** The mutable counters behind `ServerMetrics`. */
export class MetricsRecorder {
  sessionsOpened = 0;
  sessionsResumed = 0;
  readonly sessionsEnded: Record<ServerSessionEndReason, number> = {
    expired: 0,
    closed: 0,
    "buffer-overflow": 0,
  };
  readonly goodbyes: Record<number, number> = {};
  refusedPerAddress = 0;
  refusedTotal = 0;
  slowConsumers = 0;
  readPauses = 0;
  stalls = 0;
  oversizedFrames = 0;

  goodbye(code: number): void {
    this.goodbyes[code] = (this.goodbyes[code] ?? 0) + 1;
  }
}

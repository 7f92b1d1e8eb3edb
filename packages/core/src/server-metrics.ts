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
  /** Goodbyes sent, by close code (4000-4012; see docs/PROTOCOL.md). */
  goodbyes: Record<number, number>;
  /** Connections refused for `maxConnectionsPerAddress` / `maxConnections`. */
  refusedPerAddress: number;
  refusedTotal: number;
  /** Hellos refused for `maxSessions` / `maxSessionsPerAddress` (Goodbye 4012). */
  refusedSessions: number;
  /** Connections aborted for queueing more than `maxOutboundBytes`. */
  slowConsumers: number;
  /** Times reading paused because `maxInFlightPerConnection` requests were running. */
  readPauses: number;
  /** Expiry timer firings found late by more than a tick (stalled event loop). */
  stalls: number;
  /** Connections the transport closed for a frame over `maxFrameBytes`. */
  oversizedFrames: number;
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  pings: number;
  requests: number;
  /** Request handling time in ms (from arrival to answer), as a cumulative histogram. */
  requestLatency: LatencyHistogram;
}

export interface LatencyHistogram {
  count: number;
  /** Total of all observations, in ms. */
  sum: number;
  /** Cumulative counts: observations at or below each bound (ms), Prometheus-style. */
  buckets: Array<{ le: number; count: number }>;
}

/** Bucket bounds in ms for request latency. */
export const LATENCY_BUCKETS_MS: readonly number[] = [
  0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
];

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
  refusedSessions = 0;
  slowConsumers = 0;
  readPauses = 0;
  stalls = 0;
  oversizedFrames = 0;
  framesIn = 0;
  framesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  pings = 0;
  requests = 0;
  readonly #latencyCounts = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  #latencySum = 0;

  observeLatency(ms: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS_MS.length && ms > (LATENCY_BUCKETS_MS[i] as number)) i++;
    this.#latencyCounts[i] = (this.#latencyCounts[i] as number) + 1;
    this.#latencySum += ms;
  }

  latency(): LatencyHistogram {
    let running = 0;
    const buckets = LATENCY_BUCKETS_MS.map((le, i) => {
      running += this.#latencyCounts[i] as number;
      return { le, count: running };
    });
    const count = running + (this.#latencyCounts[LATENCY_BUCKETS_MS.length] as number);
    return { count, sum: this.#latencySum, buckets };
  }

  goodbye(code: number): void {
    this.goodbyes[code] = (this.goodbyes[code] ?? 0) + 1;
  }
}

import { type LatencyHistogram, LatencyRecorder } from "./latency-recorder.js";
import type { ServerSessionEndReason } from "./session/server-session.js";

/** The counters a server keeps, each from its start (`ServerMetrics` has them all). */
export interface ServerCounters {
  /** Sessions opened. */
  sessionsOpened: number;
  /** Sessions resumed on a new connection. */
  sessionsResumed: number;
  /** Requests received. */
  requests: number;
  /** Pings received. */
  pings: number;
  /** Pings sent to quiet clients that asked for them (Hello `serverPings`). */
  pingsSent: number;
  /** Frames received. */
  framesIn: number;
  /** Frames sent. */
  framesOut: number;
  /** Frame bytes received. */
  bytesIn: number;
  /** Frame bytes sent. */
  bytesOut: number;
  /** Connections refused for `maxConnectionsPerAddress`. */
  refusedPerAddress: number;
  /** Connections refused for `maxConnections`. */
  refusedTotal: number;
  /** Hellos refused for `maxSessions` or `maxSessionsPerAddress` (Goodbye 4012). */
  refusedSessions: number;
  /** Connections aborted for queueing more than `maxOutboundBytes`. */
  slowConsumers: number;
  /** Times reading paused because `maxInFlightPerConnection` requests were running. */
  readPauses: number;
  /** Expiry timer firings found late by more than a tick (a stalled event loop). */
  stalls: number;
  /** Connections the transport closed for a frame over `maxFrameBytes`. */
  oversizedFrames: number;
}

/**
 * Every counter of `ServerCounters` with the Prometheus series it belongs to (and its labels
 * there). The recorder, `metrics()`, `stat()` and `@tether/prometheus` all read this table; a
 * new counter is its field in `ServerCounters` and a line here (the compiler names one that
 * has no line).
 */
export const SERVER_COUNTERS = [
  { series: "sessions_opened_total", help: "Sessions opened.", fields: { sessionsOpened: {} } },
  {
    series: "sessions_resumed_total",
    help: "Sessions resumed on a new connection.",
    fields: { sessionsResumed: {} },
  },
  { series: "requests_total", help: "Requests received.", fields: { requests: {} } },
  { series: "pings_total", help: "Pings received.", fields: { pings: {} } },
  {
    series: "pings_sent_total",
    help: "Pings sent to quiet clients that asked for them.",
    fields: { pingsSent: {} },
  },
  {
    series: "frames_total",
    help: "Frames, by direction.",
    fields: { framesIn: { direction: "in" }, framesOut: { direction: "out" } },
  },
  {
    series: "bytes_total",
    help: "Frame bytes, by direction.",
    fields: { bytesIn: { direction: "in" }, bytesOut: { direction: "out" } },
  },
  {
    series: "refused_connections_total",
    help: "Connections refused by maxConnectionsPerAddress or maxConnections.",
    fields: { refusedPerAddress: { limit: "per-address" }, refusedTotal: { limit: "total" } },
  },
  {
    series: "refused_sessions_total",
    help: "Hellos refused by maxSessions or maxSessionsPerAddress (Goodbye 4012).",
    fields: { refusedSessions: {} },
  },
  {
    series: "slow_consumers_total",
    help: "Connections aborted for queueing more than maxOutboundBytes.",
    fields: { slowConsumers: {} },
  },
  {
    series: "read_pauses_total",
    help: "Times reading paused because maxInFlightPerConnection requests were running.",
    fields: { readPauses: {} },
  },
  {
    series: "stalls_total",
    help: "Expiry timer firings found late by more than a tick (a stalled event loop).",
    fields: { stalls: {} },
  },
  {
    series: "oversized_frames_total",
    help: "Connections the transport closed for a frame over maxFrameBytes.",
    fields: { oversizedFrames: {} },
  },
] as const satisfies ReadonlyArray<{
  series: string;
  help: string;
  fields: Partial<Record<keyof ServerCounters, Readonly<Record<string, string>>>>;
}>;

/** The name of one counter. */
export type ServerCounter = keyof ServerCounters | EveryCounterListed<Exclude<keyof ServerCounters, Listed>>;
type Listed = FieldOf<(typeof SERVER_COUNTERS)[number]>;
type FieldOf<Entry> = Entry extends { fields: infer Fields } ? keyof Fields & string : never;
/** Resolves to `never` when every counter is in the table; otherwise a type error names the missing ones. */
type EveryCounterListed<Unlisted extends never> = Unlisted;

/** Every counter's name, in the table's order. */
export const SERVER_COUNTER_NAMES: readonly ServerCounter[] = SERVER_COUNTERS.flatMap(
  (entry) => Object.keys(entry.fields) as ServerCounter[],
);

/** A snapshot of a server's counters and gauges (`server.metrics()`). */
export interface ServerMetrics extends ServerCounters {
  /** Live sessions now. */
  sessions: number;
  /** Open connections now. */
  connections: number;
  /** Open connections now, per transport name. */
  connectionsByTransport: Record<string, number>;
  /** Ended sessions by reason. */
  sessionsEnded: Record<ServerSessionEndReason, number>;
  /** Goodbyes sent, by close code (4000-4012; see docs/PROTOCOL.md). */
  goodbyes: Record<number, number>;
  /** Request handling time in ms (from arrival to answer), as a cumulative histogram. */
  requestLatency: LatencyHistogram;
}

/** The mutable counters behind `ServerMetrics`. */
export class MetricsRecorder {
  /** One per `SERVER_COUNTERS` field, all from 0. */
  readonly counts = Object.fromEntries(SERVER_COUNTER_NAMES.map((name) => [name, 0])) as Record<
    ServerCounter,
    number
  >;
  readonly sessionsEnded: Record<ServerSessionEndReason, number> = {
    expired: 0,
    closed: 0,
    "buffer-overflow": 0,
  };
  readonly goodbyes: Record<number, number> = {};
  readonly #latency = new LatencyRecorder();

  observeLatency(ms: number): void {
    this.#latency.observe(ms);
  }

  latency(): LatencyHistogram {
    return this.#latency.histogram();
  }

  goodbye(code: number): void {
    this.goodbyes[code] = (this.goodbyes[code] ?? 0) + 1;
  }
}

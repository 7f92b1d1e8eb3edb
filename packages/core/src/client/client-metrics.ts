import type { Clock } from "../clock.js";
import { type LatencyHistogram, LatencyRecorder } from "../latency-recorder.js";
import type { ClientState } from "./tether-client.js";

/** A snapshot of a client's counters (`client.metrics()`), the client's side of `server.metrics()`. */
export interface ClientMetrics {
  /** Requests made. */
  requests: number;
  /** Requests answered with a value. */
  responses: number;
  /** Requests answered with an error (`RequestError`). */
  errorResponses: number;
  /** Requests given up without an answer: timeout, abort, an unencodable or oversized body, expiry. */
  abandoned: number;
  /** Connections after the first (each a resume, or a new session after expiry). */
  reconnects: number;
  /** From `request()` to its answer, for answered requests (either kind), in ms. */
  requestLatency: LatencyHistogram;
  /** Milliseconds spent in each state since the client was created, on its clock. */
  timeInState: Record<ClientState, number>;
}

export type RequestOutcome = "response" | "error-response" | "abandoned";

/** The mutable counters behind `ClientMetrics`. */
export class ClientMetricsRecorder {
  #requests = 0;
  readonly #outcomes: Record<RequestOutcome, number> = { response: 0, "error-response": 0, abandoned: 0 };
  #connects = 0;
  readonly #latency = new LatencyRecorder();
  readonly #timeInState: Record<ClientState, number> = {
    connecting: 0,
    connected: 0,
    disconnected: 0,
    expired: 0,
    closed: 0,
    "auth-failed": 0,
  };
  #state: ClientState;
  #since: number;

  constructor(
    private readonly clock: Clock,
    state: ClientState,
  ) {
    this.#state = state;
    this.#since = clock.now();
  }

  requested(): void {
    this.#requests++;
  }

  settled(outcome: RequestOutcome, latencyMs: number): void {
    this.#outcomes[outcome]++;
    if (outcome !== "abandoned") this.#latency.observe(latencyMs);
  }

  entered(state: ClientState): void {
    const now = this.clock.now();
    this.#timeInState[this.#state] += now - this.#since;
    this.#state = state;
    this.#since = now;
    if (state === "connected") this.#connects++;
  }

  snapshot(): ClientMetrics {
    const timeInState = { ...this.#timeInState };
    timeInState[this.#state] += this.clock.now() - this.#since;
    return {
      requests: this.#requests,
      responses: this.#outcomes.response,
      errorResponses: this.#outcomes["error-response"],
      abandoned: this.#outcomes.abandoned,
      reconnects: Math.max(0, this.#connects - 1),
      requestLatency: this.#latency.histogram(),
      timeInState,
    };
  }
}

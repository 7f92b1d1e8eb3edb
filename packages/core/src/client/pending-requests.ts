import type { Clock } from "../clock.js";
import { AbortError, TimeoutError } from "../errors.js";
import { SeqIndex } from "../session/seq-index.js";
import type { RequestOutcome } from "./client-metrics.js";

export interface RequestOptions {
  signal?: AbortSignal;
  /** Give up after this many ms with `TimeoutError` (the server may still run it, once). */
  timeout?: number;
}

export interface PendingRequest {
  readonly seq: number;
  readonly op: string;
  readonly body: unknown;
  /** When `request()` was called, on the client's clock. */
  readonly madeAt: number;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  cleanup: (() => void) | undefined;
}

/**
 * The client's requests awaiting their answer, by seq, across connections: each settles once,
 * with its answer, an error, or the caller's timeout or abort.
 */
export class PendingRequests {
  /** By seq (a map's churn fed V8's old generation: see SeqIndex). */
  readonly #bySeq = new SeqIndex<PendingRequest>();
  #lastSeq = 0;

  constructor(
    private readonly clock: Clock,
    /** Told of each request's outcome once, with the time since it was made. */
    private readonly onSettled: (seq: number, outcome: RequestOutcome, latencyMs: number) => void,
  ) {}

  get size(): number {
    return this.#bySeq.size;
  }

  /** Registers a request under the next seq; its entry is what gets sent, on each connection. */
  add(
    op: string,
    body: unknown,
    options: RequestOptions,
  ): { entry: PendingRequest; answer: Promise<unknown> } {
    const seq = ++this.#lastSeq;
    let entry!: PendingRequest;
    const answer = new Promise<unknown>((resolve, reject) => {
      entry = { seq, op, body, madeAt: this.clock.now(), resolve, reject, cleanup: undefined };
    });
    const { signal, timeout } = options;
    // Timers and abort listeners only for requests that asked for them: the hot path allocates
    // nothing else.
    if (timeout !== undefined || signal !== undefined) {
      const timer =
        timeout === undefined
          ? undefined
          : this.clock.setTimeout(
              () => this.settle(seq, new TimeoutError(`request "${op}" got no reply within ${timeout} ms`)),
              timeout,
            );
      const onAbort = () => this.settle(seq, new AbortError("request aborted", { cause: signal?.reason }));
      signal?.addEventListener("abort", onAbort, { once: true });
      entry.cleanup = () => {
        if (timer !== undefined) this.clock.clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
    }
    this.#bySeq.set(seq, entry);
    return { entry, answer };
  }

  /**
   * Settles request `seq` with `error`, or else with `value`; a second outcome is ignored.
   * `outcome` says whether the server answered it (with a value or an error) or it was given up.
   */
  settle(seq: number, error: Error | undefined, value?: unknown, outcome?: RequestOutcome): void {
    const entry = this.#bySeq.delete(seq);
    if (entry === undefined) return; // answered already, or given up by the caller
    entry.cleanup?.();
    this.onSettled(
      seq,
      outcome ?? (error === undefined ? "response" : "abandoned"),
      this.clock.now() - entry.madeAt,
    );
    if (error === undefined) entry.resolve(value);
    else entry.reject(error);
  }

  /** Fails every request still waiting. */
  failAll(error: Error): void {
    for (const entry of this.#bySeq.values()) this.settle(entry.seq, error);
  }

  values(): PendingRequest[] {
    return this.#bySeq.values();
  }

  /** Every answer below the oldest request still waiting has arrived (requests wait in seq order). */
  responseAck(): number {
    return this.#bySeq.first()?.seq ?? this.#lastSeq + 1;
  }
}

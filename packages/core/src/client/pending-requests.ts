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

const NO_RESOLVER = (): void => {};
/**
 * The resolving functions of the promise `add` is making, handed over by one shared executor:
 * an executor made per request, and the context it closed over, were garbage every request
 * made (a request in flight keeps only its promise, its resolving functions and its entry).
 */
let capturedResolve: (value: unknown) => void = NO_RESOLVER;
let capturedReject: (error: Error) => void = NO_RESOLVER;
function captureResolvers(resolve: (value: unknown) => void, reject: (error: Error) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
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
    const answer = new Promise<unknown>(captureResolvers);
    const entry: PendingRequest = {
      seq,
      op,
      body,
      madeAt: this.clock.now(),
      resolve: capturedResolve,
      reject: capturedReject,
      cleanup: undefined,
    };
    capturedResolve = capturedReject = NO_RESOLVER; // holding them would keep this promise alive
    // Timers and abort listeners only for requests that asked for them: the hot path allocates
    // nothing else.
    if (options.timeout !== undefined || options.signal !== undefined)
      entry.cleanup = this.#watch(entry, options);
    this.#bySeq.set(seq, entry);
    return { entry, answer };
  }

  /** Arms the request's timeout and abort listener; returns what disarms them. */
  #watch({ seq, op }: PendingRequest, { signal, timeout }: RequestOptions): () => void {
    const timer =
      timeout === undefined
        ? undefined
        : this.clock.setTimeout(
            () => this.settle(seq, new TimeoutError(`request "${op}" got no reply within ${timeout} ms`)),
            timeout,
          );
    const onAbort = () => this.settle(seq, new AbortError("request aborted", { cause: signal?.reason }));
    signal?.addEventListener("abort", onAbort, { once: true });
    return () => {
      if (timer !== undefined) this.clock.clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
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

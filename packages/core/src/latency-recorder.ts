/** Request latency as a cumulative histogram, Prometheus-style. */
export interface LatencyHistogram {
  count: number;
  /** Total of all observations, in ms. */
  sum: number;
  /** Cumulative counts: observations at or below each bound (ms). */
  buckets: Array<{ le: number; count: number }>;
}

/** Bucket bounds in ms for request latency. */
export const LATENCY_BUCKETS_MS: readonly number[] = [
  0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
];

/** Counts latencies into `LATENCY_BUCKETS_MS` (one count per bucket: no list of samples). */
export class LatencyRecorder {
  readonly #counts = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  #sum = 0;

  observe(ms: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS_MS.length && ms > (LATENCY_BUCKETS_MS[i] as number)) i++;
    this.#counts[i] = (this.#counts[i] as number) + 1;
    this.#sum += ms;
  }

  histogram(): LatencyHistogram {
    let running = 0;
    const buckets = LATENCY_BUCKETS_MS.map((le, i) => {
      running += this.#counts[i] as number;
      return { le, count: running };
    });
    const count = running + (this.#counts[LATENCY_BUCKETS_MS.length] as number);
    return { count, sum: this.#sum, buckets };
  }
}

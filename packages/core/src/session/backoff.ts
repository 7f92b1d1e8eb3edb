export interface BackoffOptions {
  /** First delay after a full round of failed attempts. Default 100 ms. */
  initial?: number;
  /** Cap on the delay. Default 10 s. */
  max?: number;
}

/**
 * Capped exponential backoff with full jitter: a uniform delay in [0, min(max, initial * 2^n)].
 * Jitter spreads reconnects out so a restarted server is not hit by every client at once.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const initial = options.initial ?? 100;
  const max = options.max ?? 10_000;
  const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return random() * ceiling;
}

/** Fisher–Yates, with injectable randomness so tests are repeatable. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

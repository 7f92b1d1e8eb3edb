/** Small helpers shared by the benchmarks: timing, medians and heap measurement. */

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Nanoseconds per operation of one run of `body`, which performs `ops` operations. */
export function nsPerOp(ops: number, body: () => void): number {
  const start = process.hrtime.bigint();
  body();
  return Number(process.hrtime.bigint() - start) / ops;
}

export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("run with node --expose-gc");
  for (let i = 0; i < 3; i++) gc();
}

/** Heap bytes retained by what `build` returns, after full collections on both sides. */
export function retainedHeap<T>(build: () => T): { bytes: number; keep: T } {
  collectGarbage();
  const before = process.memoryUsage().heapUsed;
  const keep = build();
  collectGarbage();
  const after = process.memoryUsage().heapUsed;
  return { bytes: after - before, keep };
}

export function fmt(n: number, digits = 1): string {
  return n.toFixed(digits);
}

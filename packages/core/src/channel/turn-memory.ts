import { FramePool, LARGEST_POOLED_FRAME } from "../transport/frame-pool.js";

type SetImmediate = (callback: () => void) => unknown;
const setImmediateOrNone = (globalThis as { setImmediate?: SetImmediate }).setImmediate;

/**
 * Most memory out at once: a turn that sends more (a long run of promise jobs that never
 * lets `setImmediate` run) gets fresh buffers for the rest, so this memory stays bounded.
 */
const MAX_TURN_BYTES = 4 * 1024 * 1024;

const pool = new FramePool();
/** Memory taken since the last release, all of it given back when the turn has ended. */
let taken: Uint8Array[] = [];
let takenBytes = 0;

/**
 * Memory for a large frame that is handed to a connection and not kept: a transport is done with
 * a frame's bytes when the turn that sent it ends (`Connection.send`), so the memory goes back to
 * a pool at the next `setImmediate`. A fresh buffer per large frame cost an allocation and a
 * write into cold memory, and its bytes brought V8's next young-generation collection nearer
 * (BENCHMARKS.md, "Nineteenth session"). Undefined where there is no `setImmediate` (browsers),
 * for a frame too large to pool, or past `MAX_TURN_BYTES` in one turn: the caller allocates.
 */
export function takeForTurn(bytes: number): Uint8Array | undefined {
  if (setImmediateOrNone === undefined || bytes > LARGEST_POOLED_FRAME) return undefined; // a buffer of its own
  if (takenBytes + bytes > MAX_TURN_BYTES) return undefined;
  if (taken.length === 0) setImmediateOrNone(releaseTurn);
  const memory = pool.take(bytes);
  taken.push(memory);
  takenBytes += bytes;
  return memory;
}

function releaseTurn(): void {
  const released = taken;
  taken = [];
  takenBytes = 0;
  for (const memory of released) pool.release(memory);
}

/** Buffers are handed out in sizes of 2^k and 3·2^(k-2) bytes: a copy wastes at most a quarter. */
const SMALLEST_BUFFER = 64;
/** Frames over this get a buffer of their own, left to the garbage collector when released. */
const LARGEST_POOLED_FRAME = 256 * 1024;
/** Released buffers kept for reuse, across all sizes; the rest are left to the garbage collector. */
const MAX_FREE_BYTES = 8 * 1024 * 1024;

/** The size of buffer a frame of `bytes` gets (integer steps only: this runs for every answer). */
function bufferSizeFor(bytes: number): number {
  if (bytes <= SMALLEST_BUFFER) return SMALLEST_BUFFER;
  const power = 1 << (32 - Math.clz32(bytes - 1));
  const threeQuarters = power - (power >> 2);
  return bytes <= threeQuarters ? threeQuarters : power;
}

/** Where the free buffers of `size` are listed: sizes of both kinds are distinct, and few. */
const listOf = (size: number): number => (32 - Math.clz32(size)) * 2 + (size & (size - 1) ? 1 : 0);

/**
 * Reusable memory for the answers a session keeps until the client acknowledges them. A kept
 * answer lives through a young-generation collection or two, so a fresh buffer per answer (or
 * the message, holding views of the request's read buffer) is promoted with its external
 * memory, and V8 then collects the old generation over and over: with 16 KiB answers that
 * was most of what the server spent per request beyond raw `net` (BENCHMARKS.md, twelfth
 * session). A copy into a buffer released by an earlier acknowledgement costs a `memcpy` and no
 * allocation but the view.
 *
 * A copy is the keeper's own: nothing else holds it, so it must never be handed to a
 * transport (which may still be writing it when it is released); send a copy of it instead.
 * Released buffers are kept per size, up to 8 MiB in all.
 */
export class KeptFramePool {
  /** Released buffers by `listOf(size)`. */
  readonly #free: ArrayBuffer[][] = Array.from({ length: 64 }, () => []);
  #freeBytes = 0;

  /** A copy of `frame` in memory of its own. */
  copy(frame: Uint8Array): Uint8Array {
    if (frame.byteLength > LARGEST_POOLED_FRAME) return new Uint8Array(frame);
    const size = bufferSizeFor(frame.byteLength);
    const reused = (this.#free[listOf(size)] as ArrayBuffer[]).pop();
    if (reused !== undefined) this.#freeBytes -= size;
    const copy = new Uint8Array(reused ?? new ArrayBuffer(size), 0, frame.byteLength);
    copy.set(frame);
    return copy;
  }

  /** Gives back the memory of a `copy()`: the copy must not be used afterwards. */
  release(copy: Uint8Array): void {
    const buffer = copy.buffer as ArrayBuffer;
    const size = buffer.byteLength;
    if (copy.byteLength > LARGEST_POOLED_FRAME || this.#freeBytes + size > MAX_FREE_BYTES) return;
    (this.#free[listOf(size)] as ArrayBuffer[]).push(buffer);
    this.#freeBytes += size;
  }

  /** Bytes of released buffers waiting for reuse. */
  get freeBytes(): number {
    return this.#freeBytes;
  }
}

/** The process's pool: every session's kept answers share it. */
export const keptFramePool = new KeptFramePool();

/** Buffers are handed out in sizes of 2^k and 3·2^(k-2) bytes: a copy wastes at most a quarter. */
const SMALLEST_BUFFER = 64;
/** Frames over this get a buffer of their own, left to the garbage collector when released. */
export const LARGEST_POOLED_FRAME = 256 * 1024;
/** Released buffers kept for reuse, across all sizes; the rest are left to the garbage collector. */
const MAX_FREE_BYTES = 8 * 1024 * 1024;

/**
 * A view of pooled memory: a Node `Buffer` where there is one, so that a socket or `ws` takes it
 * as it is (each wraps a plain `Uint8Array` in a `Buffer` view of its own per write).
 */
const viewOf: (memory: ArrayBuffer, bytes: number) => Uint8Array =
  typeof Buffer === "undefined"
    ? (memory, bytes) => new Uint8Array(memory, 0, bytes)
    : (memory, bytes) => Buffer.from(memory, 0, bytes);

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
 * Reusable memory for frames that outlive the read that made them: the answers a session keeps
 * until the client acknowledges them, and what a connection has handed to its socket (a TCP
 * batch, a WebSocket message) until it is written. Such a buffer lives through a young-generation collection or
 * two, so a fresh one each time (or, for a kept answer, the message, holding views of the
 * request's read buffer) is promoted with its external memory, and V8 then collects the old
 * generation over and over: with 16 KiB answers that was most of what the server spent per
 * request beyond raw `net` (BENCHMARKS.md, twelfth session). Memory released by an earlier
 * user costs a `memcpy` and no allocation but the view.
 *
 * A buffer from the pool is its taker's own until released, and must not be used afterwards:
 * a kept answer is released only once acknowledged, in a later turn than the one that sent it
 * (a transport is done with a frame's bytes when that turn ends), and a message a transport
 * writes only once its write is done. Released buffers are kept per size, up to 8 MiB in all.
 */
export class FramePool {
  /** Released buffers by `listOf(size)`. */
  readonly #free: ArrayBuffer[][] = Array.from({ length: 64 }, () => []);
  #freeBytes = 0;
  /** Every buffer this pool made: `owns` tells its memory from any other. */
  readonly #made = new WeakSet<ArrayBuffer>();

  /** `bytes` bytes of memory of the caller's own, as they were left (not zeroed). */
  take(bytes: number): Uint8Array {
    if (bytes > LARGEST_POOLED_FRAME) return viewOf(this.#make(bytes), bytes);
    const size = bufferSizeFor(bytes);
    const reused = (this.#free[listOf(size)] as ArrayBuffer[]).pop();
    if (reused !== undefined) this.#freeBytes -= size;
    return viewOf(reused ?? this.#make(size), bytes);
  }

  #make(size: number): ArrayBuffer {
    const buffer = new ArrayBuffer(size);
    this.#made.add(buffer);
    return buffer;
  }

  /** Whether `view` is memory of this pool's (a `take()` or `copy()`, or a view into one). */
  owns(view: Uint8Array): boolean {
    return this.#made.has(view.buffer as ArrayBuffer);
  }

  /** A copy of `frame` in memory of its own. */
  copy(frame: Uint8Array): Uint8Array {
    const copy = this.take(frame.byteLength);
    copy.set(frame);
    return copy;
  }

  /**
   * Gives back the memory of a `take()` or `copy()` (or of any view into it): it must not be
   * used afterwards.
   */
  release(copy: Uint8Array): void {
    const buffer = copy.buffer as ArrayBuffer;
    const size = buffer.byteLength;
    // Only buffers of the sizes handed out are listed: a frame's own larger buffer is left.
    if (size > LARGEST_POOLED_FRAME || bufferSizeFor(size) !== size) return;
    if (this.#freeBytes + size > MAX_FREE_BYTES) return;
    (this.#free[listOf(size)] as ArrayBuffer[]).push(buffer);
    this.#freeBytes += size;
  }

  /** Bytes of released buffers waiting for reuse. */
  get freeBytes(): number {
    return this.#freeBytes;
  }
}

/** The process's pool for kept answers: every session's share it. */
export const keptFramePool = new FramePool();

/**
 * The process's pool for what transports write: a buffer of batched frames or a WebSocket
 * message, taken for one write and released by that write's callback (when the socket is done
 * with it).
 */
export const writeBufferPool = new FramePool();

import { FrameTooLargeError, ProtocolError } from "../errors.js";

/** Bytes in the big-endian length header that precedes every frame on a byte stream. */
export const LENGTH_PREFIX_BYTES = 4;

/**
 * The body of a frame that spans reads gets room for twice what has arrived plus this, up to
 * the frame's length: a frame at least half here (or small) is allocated once, at its size,
 * while a header that claims a large frame costs no more than what its peer sent.
 */
const BODY_SLACK_BYTES = 4096;

/**
 * Hands up each frame, with `this` the context given with it (so one function can serve every
 * connection); returning false stops the decoder (a reader that paused), which then holds what
 * it has not parsed, as the chunks it came in, until `resume`.
 */
export type FrameSink<Context = unknown> = (this: Context, frame: Uint8Array) => unknown;

/**
 * Splits a byte stream into frames, each a 4-byte big-endian length and that many bytes.
 * A length over `maxFrameBytes` throws `FrameTooLargeError` as soon as its header is complete,
 * before any of its body is buffered. Frames inside one chunk are zero-copy views of it; a
 * frame that spans chunks is copied into one buffer as its bytes arrive, which grows with
 * them (never more than twice what arrived, plus 4 KiB), so memory follows the bytes held,
 * not the number of reads they came in.
 */
export class LengthPrefixDecoder {
  readonly #maxFrameBytes: number;
  /** Chunks not parsed yet: the rest of the current one, and any that came while stopped. */
  #queue: Uint8Array[] = [];
  /** Read offset into `#queue[0]`. */
  #offset = 0;
  #queuedBytes = 0;
  /** A header split across chunks. */
  readonly #header = new Uint8Array(LENGTH_PREFIX_BYTES);
  #headerFilled = 0;
  /** Body length of the frame being read, or -1 while its header is incomplete. */
  #bodyLength = -1;
  /** The body of a frame that spans chunks, filled as it arrives. */
  #body: Uint8Array | undefined;
  #bodyFilled = 0;
  #stopped = false;

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Bytes held: unparsed chunks and the part of a frame that has arrived. */
  get bufferedBytes(): number {
    return this.#queuedBytes + this.#headerFilled + this.#bodyFilled;
  }

  /** True while part of a frame has arrived: a stream ending now was truncated. */
  get hasPartialFrame(): boolean {
    return this.#queuedBytes > 0 || this.#headerFilled > 0 || this.#bodyLength >= 0;
  }

  /** True after a sink returned false, until `resume`. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Feeds bytes; hands each frame they complete to `onFrame`, in order, unless stopped. */
  push<Context>(chunk: Uint8Array, onFrame: FrameSink<Context>, context?: Context): void {
    if (chunk.byteLength > 0) {
      this.#queue.push(chunk);
      this.#queuedBytes += chunk.byteLength;
    }
    if (!this.#stopped) this.#run(onFrame, context);
  }

  /** Goes on with what was held since a sink returned false. */
  resume<Context>(onFrame: FrameSink<Context>, context?: Context): void {
    this.#stopped = false;
    this.#run(onFrame, context);
  }

  /** Throws `ProtocolError` if the stream ended in the middle of a frame. */
  end(): void {
    if (this.hasPartialFrame) {
      const held = this.bufferedBytes;
      this.#reset();
      throw new ProtocolError(`stream ended inside a frame (${held} bytes of it held)`);
    }
  }

  #run<Context>(onFrame: FrameSink<Context>, context: Context | undefined): void {
    while (this.#queue.length > 0 && !this.#stopped) {
      const chunk = this.#queue[0] as Uint8Array;
      let at = this.#offset;
      if (this.#bodyLength < 0) {
        let length: number;
        if (this.#headerFilled === 0 && chunk.byteLength - at >= LENGTH_PREFIX_BYTES) {
          length = readLength(chunk, at);
          at += LENGTH_PREFIX_BYTES;
        } else {
          const n = Math.min(LENGTH_PREFIX_BYTES - this.#headerFilled, chunk.byteLength - at);
          this.#header.set(chunk.subarray(at, at + n), this.#headerFilled);
          this.#headerFilled += n;
          at += n;
          if (this.#headerFilled < LENGTH_PREFIX_BYTES) {
            this.#consume(chunk, at);
            continue;
          }
          this.#headerFilled = 0;
          length = readLength(this.#header, 0);
        }
        if (length > this.#maxFrameBytes) {
          this.#reset();
          throw new FrameTooLargeError(length, this.#maxFrameBytes);
        }
        this.#bodyLength = length;
      }
      const available = chunk.byteLength - at;
      let frame: Uint8Array;
      if (this.#body === undefined && available >= this.#bodyLength) {
        frame = chunk.subarray(at, at + this.#bodyLength);
        at += this.#bodyLength;
      } else {
        const n = Math.min(this.#bodyLength - this.#bodyFilled, available);
        this.#ensureBody(this.#bodyFilled + n).set(chunk.subarray(at, at + n), this.#bodyFilled);
        this.#bodyFilled += n;
        at += n;
        if (this.#bodyFilled < this.#bodyLength) {
          this.#consume(chunk, at);
          continue;
        }
        frame = this.#body as Uint8Array;
        this.#body = undefined;
        this.#bodyFilled = 0;
      }
      this.#bodyLength = -1;
      this.#consume(chunk, at);
      if (onFrame.call(context as Context, frame) === false) this.#stopped = true;
    }
  }

  /** Marks `chunk` (the queue's first) as read up to `at`. */
  #consume(chunk: Uint8Array, at: number): void {
    this.#queuedBytes -= at - this.#offset;
    if (at === chunk.byteLength) {
      this.#queue.shift();
      this.#offset = 0;
    } else {
      this.#offset = at;
    }
  }

  /** The body buffer, grown to hold at least `needed` bytes (see `BODY_SLACK_BYTES`). */
  #ensureBody(needed: number): Uint8Array {
    const body = this.#body;
    if (body !== undefined && body.byteLength >= needed) return body;
    const capacity = Math.min(this.#bodyLength, 2 * needed + BODY_SLACK_BYTES);
    const grown = new Uint8Array(capacity);
    if (body !== undefined) grown.set(body.subarray(0, this.#bodyFilled));
    this.#body = grown;
    return grown;
  }

  #reset(): void {
    this.#queue = [];
    this.#offset = 0;
    this.#queuedBytes = 0;
    this.#headerFilled = 0;
    this.#bodyLength = -1;
    this.#body = undefined;
    this.#bodyFilled = 0;
    this.#stopped = false;
  }
}

function readLength(bytes: Uint8Array, at: number): number {
  return (
    (((bytes[at] as number) << 24) |
      ((bytes[at + 1] as number) << 16) |
      ((bytes[at + 2] as number) << 8) |
      (bytes[at + 3] as number)) >>>
    0
  );
}

/** The 4-byte big-endian length header for a frame of `length` bytes. */
export function lengthPrefix(length: number): Uint8Array {
  const header = new Uint8Array(LENGTH_PREFIX_BYTES);
  new DataView(header.buffer).setUint32(0, length);
  return header;
}

const freshBuffer = (bytes: number): Uint8Array => new Uint8Array(bytes);

/**
 * Length-prefixes `frames` into one contiguous buffer (one copy each), e.g. one WebSocket
 * message; `allocate` gives the memory (a fresh buffer by default, a pool's for a caller that
 * knows when the message is done with).
 */
export function encodeLengthPrefixed(
  frames: readonly Uint8Array[],
  allocate: (bytes: number) => Uint8Array = freshBuffer,
): Uint8Array {
  let total = 0;
  for (const frame of frames) total += LENGTH_PREFIX_BYTES + frame.byteLength;
  const out = allocate(total);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let offset = 0;
  for (const frame of frames) {
    view.setUint32(offset, frame.byteLength);
    out.set(frame, offset + LENGTH_PREFIX_BYTES);
    offset += LENGTH_PREFIX_BYTES + frame.byteLength;
  }
  return out;
}

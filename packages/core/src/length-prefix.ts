import { FrameTooLargeError, ProtocolError } from "./errors.js";

/** Bytes in the big-endian length header that precedes every frame on a byte stream. */
export const LENGTH_PREFIX_BYTES = 4;

/**
 * Splits a byte stream into frames, each a 4-byte big-endian length and that many bytes.
 * A length over `maxFrameBytes` throws `FrameTooLargeError` as soon as its header is complete,
 * before any of its body is buffered. Frames inside one chunk are zero-copy views of it.
 */
export class LengthPrefixDecoder {
  readonly #maxFrameBytes: number;
  #chunks: Uint8Array[] = [];
  /** Read offset into `#chunks[0]`. */
  #offset = 0;
  #buffered = 0;
  /** Body length of the frame being read, or -1 while its header is incomplete. */
  #bodyLength = -1;

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Bytes held waiting for the rest of a frame. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** True while part of a frame has arrived: a stream ending now was truncated. */
  get hasPartialFrame(): boolean {
    return this.#buffered > 0 || this.#bodyLength >= 0;
  }

  /** Feeds bytes; calls `onFrame` for each frame they complete, in order. */
  push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
    if (chunk.byteLength === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.byteLength;
    for (;;) {
      if (this.#bodyLength < 0) {
        if (this.#buffered < LENGTH_PREFIX_BYTES) return;
        const length = this.#takeLength();
        if (length > this.#maxFrameBytes) {
          this.#reset();
          throw new FrameTooLargeError(length, this.#maxFrameBytes);
        }
        this.#bodyLength = length;
      }
      if (this.#buffered < this.#bodyLength) return;
      const frame = this.#take(this.#bodyLength);
      this.#bodyLength = -1;
      onFrame(frame);
    }
  }

  /** Throws `ProtocolError` if the stream ended in the middle of a frame. */
  end(): void {
    if (this.hasPartialFrame) {
      const held = this.#buffered;
      this.#reset();
      throw new ProtocolError(`stream ended inside a frame (${held} bytes of it held)`);
    }
  }

  /** Reads a frame's 4-byte length; in place when the header lies in one chunk (the usual case). */
  #takeLength(): number {
    const first = this.#chunks[0] as Uint8Array;
    const at = this.#offset;
    if (first.byteLength - at < LENGTH_PREFIX_BYTES) {
      const header = this.#take(LENGTH_PREFIX_BYTES);
      return new DataView(header.buffer, header.byteOffset, LENGTH_PREFIX_BYTES).getUint32(0);
    }
    const length =
      (((first[at] as number) << 24) |
        ((first[at + 1] as number) << 16) |
        ((first[at + 2] as number) << 8) |
        (first[at + 3] as number)) >>>
      0;
    this.#buffered -= LENGTH_PREFIX_BYTES;
    this.#offset = at + LENGTH_PREFIX_BYTES;
    if (this.#offset === first.byteLength) {
      this.#chunks.shift();
      this.#offset = 0;
    }
    return length;
  }

  #take(length: number): Uint8Array {
    // An empty frame may end a chunk, leaving nothing queued to view into.
    if (length === 0) return new Uint8Array(0);
    const first = this.#chunks[0] as Uint8Array;
    this.#buffered -= length;
    if (first.byteLength - this.#offset >= length) {
      const view = first.subarray(this.#offset, this.#offset + length);
      this.#offset += length;
      if (this.#offset === first.byteLength) {
        this.#chunks.shift();
        this.#offset = 0;
      }
      return view;
    }
    // The frame spans chunks: copy it out once.
    const out = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const chunk = this.#chunks[0] as Uint8Array;
      const n = Math.min(length - filled, chunk.byteLength - this.#offset);
      out.set(chunk.subarray(this.#offset, this.#offset + n), filled);
      filled += n;
      this.#offset += n;
      if (this.#offset === chunk.byteLength) {
        this.#chunks.shift();
        this.#offset = 0;
      }
    }
    return out;
  }

  #reset(): void {
    this.#chunks = [];
    this.#offset = 0;
    this.#buffered = 0;
    this.#bodyLength = -1;
  }
}

/** The 4-byte big-endian length header for a frame of `length` bytes. */
export function lengthPrefix(length: number): Uint8Array {
  const header = new Uint8Array(LENGTH_PREFIX_BYTES);
  new DataView(header.buffer).setUint32(0, length);
  return header;
}

/** Length-prefixes `frames` into one contiguous buffer (one copy each), e.g. one WebSocket message. */
export function encodeLengthPrefixed(frames: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const frame of frames) total += LENGTH_PREFIX_BYTES + frame.byteLength;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const frame of frames) {
    view.setUint32(offset, frame.byteLength);
    out.set(frame, offset + LENGTH_PREFIX_BYTES);
    offset += LENGTH_PREFIX_BYTES + frame.byteLength;
  }
  return out;
}

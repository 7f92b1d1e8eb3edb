import {
  ConnectionResetError,
  encodeLengthPrefixed,
  type FrameSink,
  FrameTooLargeError,
  LENGTH_PREFIX_BYTES,
  LengthPrefixDecoder,
  ProtocolError,
  TransportError,
} from "@tether/core";

/**
 * Frames of one tick fill messages up to this size; a larger frame goes in a message of its
 * own. Small frames still share a message, and the peer can work on the first 64 KiB while the
 * rest is in flight: one 1 MiB message per tick made a single client wait for all of it
 * (BENCHMARKS.md, "Fourth session"). Like the TCP transport's largest batch.
 */
export const MESSAGE_TARGET_BYTES = 64 * 1024;

/** No frames queued: shared and never written to (see `add`). */
const NO_FRAMES: readonly Uint8Array[] = Object.freeze([]);

/**
 * Tether frames inside WebSocket messages: each message carries one or more length-prefixed
 * frames, so the frames written in one tick leave in as few messages as `MESSAGE_TARGET_BYTES`
 * allows (one WebSocket header, one mask, one syscall each) instead of one message per frame.
 * A message never exceeds `maxFrameBytes + 4` bytes, which is therefore the WebSocket
 * `maxPayload`.
 */
export class MessageFraming {
  readonly #maxMessageBytes: number;
  readonly #decoder: LengthPrefixDecoder;
  /**
   * The frames of the next message(s): an array of its own from the first frame on, let go at
   * the flush, so an idle connection keeps none from one Ping to the next (one that did was
   * promoted, per connection per Ping).
   */
  #pending: readonly Uint8Array[] = NO_FRAMES;
  #pendingBytes = 0;

  constructor(readonly maxFrameBytes: number) {
    this.#maxMessageBytes = maxPayloadFor(maxFrameBytes);
    this.#decoder = new LengthPrefixDecoder(maxFrameBytes);
  }

  /** Bytes of frames queued for the next message(s), headers included. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** Queues a frame; returns true when it is the first since the last flush. */
  add(frame: Uint8Array): boolean {
    const first = this.#pending.length === 0;
    if (this.#pending === NO_FRAMES) this.#pending = [frame];
    else (this.#pending as Uint8Array[]).push(frame);
    this.#pendingBytes += frame.byteLength + 4;
    return first;
  }

  /**
   * The queued frames as messages: up to `MESSAGE_TARGET_BYTES` each, or one larger frame
   * alone (never over `maxFrameBytes + 4`), each in memory from `allocate` (fresh by default).
   */
  flush(allocate?: (bytes: number) => Uint8Array): Uint8Array[] {
    const messages: Uint8Array[] = [];
    const target = Math.min(MESSAGE_TARGET_BYTES, this.#maxMessageBytes);
    let batch: Uint8Array[] = [];
    let batchBytes = 0;
    for (const frame of this.#pending) {
      const size = frame.byteLength + 4;
      if (batchBytes + size > target && batch.length > 0) {
        messages.push(encodeLengthPrefixed(batch, allocate));
        batch = [];
        batchBytes = 0;
      }
      batch.push(frame);
      batchBytes += size;
    }
    if (batch.length > 0) messages.push(encodeLengthPrefixed(batch, allocate));
    this.#pending = NO_FRAMES;
    this.#pendingBytes = 0;
    return messages;
  }

  /**
   * Splits one received message into frames; a message must hold whole frames only. A sink
   * that returns false (reading paused) stops it: the rest stays held as the message it came
   * in, not as frames, until `resume`.
   */
  decode(message: Uint8Array, onFrame: FrameSink): void {
    checkWholeFrames(message, this.maxFrameBytes);
    this.#decoder.push(message, onFrame);
  }

  /** Goes on with what `decode` held since a sink returned false. */
  resume(onFrame: FrameSink): void {
    this.#decoder.resume(onFrame);
  }
}

/** The WebSocket `maxPayload` that admits one frame of `maxFrameBytes` and its header. */
/**
 * Throws unless `message` is whole frames end to end: a partial frame at its end is a
 * `ProtocolError`, an oversized one a `FrameTooLargeError`. Reads headers only.
 */
function checkWholeFrames(message: Uint8Array, maxFrameBytes: number): void {
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  let at = 0;
  while (at < message.byteLength) {
    if (message.byteLength - at < LENGTH_PREFIX_BYTES)
      throw new ProtocolError("message ends inside a frame header");
    const length = view.getUint32(at);
    if (length > maxFrameBytes) throw new FrameTooLargeError(length, maxFrameBytes);
    at += LENGTH_PREFIX_BYTES + length;
    if (at > message.byteLength) throw new ProtocolError("message ends inside a frame");
  }
}

export function maxPayloadFor(maxFrameBytes: number): number {
  return maxFrameBytes + 4;
}

/**
 * WebSocket close codes Tether's transport uses. The session layer's codes (4000-4012) travel
 * in Goodbye messages, never as WebSocket close codes, and the transport's own application
 * code is outside their range.
 */
export const WS_CLOSE_NORMAL = 1000;
export const WS_CLOSE_GOING_AWAY = 1001;
export const WS_CLOSE_PROTOCOL_ERROR = 1002;
export const WS_CLOSE_UNSUPPORTED_DATA = 1003;
export const WS_CLOSE_ABNORMAL = 1006;
export const WS_CLOSE_TOO_BIG = 1009;
/** Sent by a browser on `abort()`: browsers cannot reset the socket, so they say "aborted". */
export const WS_CLOSE_ABORTED = 4100;

/** The WebSocket closed with a code other than a normal close. */
export class WebSocketCloseError extends TransportError {
  constructor(
    readonly code: number,
    reason: string,
  ) {
    super(`WebSocket closed with code ${code}${reason ? `: ${reason}` : ""}`);
  }
}

/**
 * What a WebSocket that closed with `code` reports: nothing for a normal close; a reset for one
 * that ended with no close frame (1006) or that a browser aborted (4100), as on TCP; otherwise
 * `WebSocketCloseError` with the code.
 */
export function closeErrorFor(code: number, reason: string): Error | undefined {
  if (code === WS_CLOSE_NORMAL) return undefined;
  if (code === WS_CLOSE_ABNORMAL || code === WS_CLOSE_ABORTED) {
    return new ConnectionResetError(`connection reset by peer (WebSocket close ${code})`);
  }
  return new WebSocketCloseError(code, reason);
}

/** The close code that tells the peer why we close on `error`; `otherwise` for anything else. */
export function closeCodeFor(error: Error | undefined, otherwise: number): number {
  if (error instanceof FrameTooLargeError) return WS_CLOSE_TOO_BIG;
  if (error instanceof ProtocolError) return WS_CLOSE_PROTOCOL_ERROR;
  return otherwise;
}

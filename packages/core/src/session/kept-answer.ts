import { encodeFrame } from "../channel/msgpack-codec.js";
import { copyBytes } from "../copy-bytes.js";
import { keptFramePool } from "../transport/frame-pool.js";
import { encodeServerMessage } from "./protocol.js";
import type { Kept, ResponseMessage } from "./server-session.js";

/**
 * Frames up to this size are kept as their message: copying one costs more than it saves.
 * Larger ones are copied into the kept-frame pool (see `FramePool` for why).
 */
const LARGEST_KEPT_AS_MESSAGE = 1024;

/** A small answer's message with its encoded size, or a larger answer's frame, copied. */
export type KeptAnswer = Kept<ResponseMessage> | Uint8Array;

/**
 * What to keep of `response`, sent as `frame`: its message, the frame itself when it is in the
 * pool's memory already (`encodeFrameToKeep`), else a copy (a view of an encoder's shared buffer
 * is not kept).
 */
export function keepAnswer(response: ResponseMessage, frame: Uint8Array): KeptAnswer {
  if (frame.byteLength <= LARGEST_KEPT_AS_MESSAGE) return { message: response, bytes: frame.byteLength };
  return keptFramePool.owns(frame) ? frame : keptFramePool.copy(frame);
}

/** The answer as a frame of the caller's own, for a transport (a pooled copy is not). */
export function frameOfKept(kept: KeptAnswer): Uint8Array {
  return kept instanceof Uint8Array ? copyBytes(kept) : encodeFrame(encodeServerMessage(kept.message));
}

/** Lets a kept answer go (its memory back to the pool); returns the bytes it counted for. */
export function releaseKept(kept: KeptAnswer): number {
  if (!(kept instanceof Uint8Array)) return kept.bytes;
  keptFramePool.release(kept);
  return kept.byteLength;
}

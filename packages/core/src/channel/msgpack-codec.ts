import { Packr } from "msgpackr";
import { UnencodableValueError } from "../errors.js";
import { keptFramePool } from "../transport/frame-pool.js";
import { encodeFlatMessage } from "./flat-encoder.js";
import type { ChannelHandler } from "./handler.js";
import type { HandlerContext } from "./pipeline.js";
import { decodePlainMessagePack } from "./plain-decoder.js";
import { checkPlainMessagePack, DEFAULT_MAX_NESTING } from "./plain-msgpack.js";
import { takeForTurn } from "./turn-memory.js";

/**
 * The encoder for what the flat encoder does not take (objects, nested arrays, BigInts): one
 * msgpackr instance for every connection, since a Packr holds dozens of closures, about 1 KiB
 * of heap per connection (idle-scale: 6.8-7.1 against 5.8-6.1 KiB per session). Sharing is
 * safe: each call runs to completion on this one thread, and `pack` returns a view nobody
 * writes again. `undefined` encodes as nil. Frames are decoded by `decodePlainMessagePack`.
 */
const sharedPackr = new Packr({
  useRecords: false,
  moreTypes: false,
  encodeUndefinedAsNil: true,
});

/**
 * msgpackr keeps the buffer it last grew for the next `pack`. After a large value it is given
 * a small one again, so one big answer does not hold its high-water mark for the process's life.
 */
const KEEP_PACK_BUFFER_BYTES = 256 * 1024;
const PACK_BUFFER_BYTES = 8 * 1024;
/** msgpackr writes strings with `Buffer#utf8Write` where Node's Buffer exists, so it needs one there. */
const newPackBuffer = (): Uint8Array =>
  typeof Buffer === "undefined"
    ? new Uint8Array(PACK_BUFFER_BYTES)
    : Buffer.allocUnsafeSlow(PACK_BUFFER_BYTES);

/**
 * Encodes `value` as one plain MessagePack frame (see `checkPlainMessagePack`): an array of
 * plain leaves (most messages) with the flat encoder, anything else with msgpackr, checked. Throws
 * `UnencodableValueError` for what plain MessagePack cannot carry: a Date, Set, RegExp, a typed
 * array other than bytes, a BigInt beyond 64 bits, a cycle, nesting deeper than the limit.
 */
export function encodeFrame(value: unknown, maxNesting = DEFAULT_MAX_NESTING): Uint8Array {
  if (maxNesting >= 1) {
    const flat = encodeFlatMessage(value);
    if (flat !== undefined) return flat;
  }
  return encodeWithMsgpackr(value, maxNesting);
}

/**
 * `encodeFrame` for a frame handed to a connection and not kept: its memory may be reused once
 * the turn ends (see `takeForTurn`), so whoever keeps it copies it.
 */
export function encodeFrameForTurn(value: unknown): Uint8Array {
  return encodeFlatMessage(value, takeForTurn) ?? encodeWithMsgpackr(value, DEFAULT_MAX_NESTING);
}

const takeToKeep = (bytes: number): Uint8Array => keptFramePool.take(bytes);

/**
 * `encodeFrame` for an answer the session keeps: a large frame the flat encoder writes goes
 * into memory of `keptFramePool` (`keptFramePool.owns(frame)`), which the session keeps as it
 * is instead of copying it. Sent too: a transport is done with it when the turn ends, and it is
 * released only once acknowledged, in a later turn.
 */
export function encodeFrameToKeep(value: unknown): Uint8Array {
  return encodeFlatMessage(value, takeToKeep) ?? encodeWithMsgpackr(value, DEFAULT_MAX_NESTING);
}

function encodeWithMsgpackr(value: unknown, maxNesting: number): Uint8Array {
  let frame: Uint8Array;
  try {
    frame = sharedPackr.pack(value);
  } catch (error) {
    throw new UnencodableValueError(error instanceof Error ? error.message : String(error), { cause: error });
  }
  if (frame.byteLength > KEEP_PACK_BUFFER_BYTES) sharedPackr.useBuffer(newPackBuffer());
  const refusal = checkPlainMessagePack(frame, maxNesting, true);
  if (refusal !== undefined) throw new UnencodableValueError(refusal);
  return frame;
}

/** Decodes one frame of plain MessagePack; anything else is a `ProtocolError`. */
export function decodeFrame(frame: Uint8Array, maxNesting = DEFAULT_MAX_NESTING): unknown {
  return decodePlainMessagePack(frame, maxNesting);
}

/**
 * Frames ⇄ values with plain MessagePack, so peers in other languages and browsers read it
 * (docs/PROTOCOL.md, "Encoding"). A frame that does not decode becomes a `ProtocolError` on the
 * pipeline's error path; a value that cannot be encoded throws `UnencodableValueError` at the
 * write. Frames already encoded (a `Uint8Array`) pass through.
 */
export class MessagePackCodec implements ChannelHandler {
  channelRead(ctx: HandlerContext, message: unknown): void {
    if (!(message instanceof Uint8Array)) {
      ctx.fireRead(message);
      return;
    }
    ctx.fireRead(decodeFrame(message));
  }

  write(ctx: HandlerContext, message: unknown): void {
    ctx.write(message instanceof Uint8Array ? message : encodeFrame(message));
  }
}

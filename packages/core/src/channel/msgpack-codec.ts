import { Packr } from "msgpackr";
import { UnencodableValueError } from "../errors.js";
import type { ChannelHandler } from "./handler.js";
import type { HandlerContext } from "./pipeline.js";
import { decodePlainMessagePack } from "./plain-decoder.js";
import { checkPlainMessagePack, DEFAULT_MAX_NESTING } from "./plain-msgpack.js";

/**
 * One msgpackr instance for every connection: a Packr holds dozens of closures, about 1 KiB of
 * heap per connection (idle-scale: 6.8-7.1 against 5.8-6.1 KiB per session). Sharing is safe:
 * each call runs to completion on this one thread, and `pack` returns a view nobody writes
 * again. Integers beyond 2^53 decode to BigInt (never a rounded number), and `undefined`
 * encodes as nil.
 */
const sharedPackr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: false,
  // "auto" (number when within 2^53, else BigInt) is in msgpackr 2.x but not in its types.
  int64AsType: "auto" as "bigint",
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
 * Encodes `value` as one plain MessagePack frame (see `checkPlainMessagePack`). Throws
 * `UnencodableValueError` for what plain MessagePack cannot carry: a Date, Set, RegExp, a typed
 * array other than bytes, a BigInt beyond 64 bits, a cycle, nesting deeper than the limit.
 */
export function encodeFrame(value: unknown, maxNesting = DEFAULT_MAX_NESTING): Uint8Array {
  let frame: Uint8Array;
  try {
    frame = sharedPackr.pack(value);
  } catch (error) {
    throw new UnencodableValueError(error instanceof Error ? error.message : String(error), { cause: error });
  }
  if (frame.byteLength > KEEP_PACK_BUFFER_BYTES) sharedPackr.useBuffer(newPackBuffer());
  if (isFlatAndPlain(value)) return frame;
  const refusal = checkPlainMessagePack(frame, maxNesting, true);
  if (refusal !== undefined) throw new UnencodableValueError(refusal);
  return frame;
}

/**
 * True for a value msgpackr can only write as plain MessagePack with integers as integers: a
 * leaf of that kind, or an array of them (most protocol messages: `[6, seq, <bytes>]`). Such a
 * frame needs no check; anything else (objects, nested arrays) is checked after packing.
 */
function isFlatAndPlain(value: unknown): boolean {
  if (!Array.isArray(value)) return isPlainLeaf(value);
  for (let i = 0; i < value.length; i++) if (!isPlainLeaf(value[i])) return false;
  return true;
}

function isPlainLeaf(value: unknown): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
    case "undefined":
      return true;
    case "number":
      // 32-bit integers are written as integers, non-integers as floats; larger integers need the rewrite.
      return value >>> 0 === value || value >> 0 === value || !Number.isInteger(value);
    case "object":
      return value === null || isBytes(value);
    default:
      return false;
  }
}

/** Node's `Buffer`, where there is one. */
const NodeBuffer: unknown = typeof Buffer === "undefined" ? Uint8Array : Buffer;

/** A byte array msgpackr writes as bin: a plain `Uint8Array`, or Node's `Buffer`. */
function isBytes(value: object): boolean {
  const type = value.constructor;
  return type === Uint8Array || type === NodeBuffer;
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

/**
 * Writes the commonest frames without msgpackr: an array whose items are all plain leaves (nil,
 * booleans, numbers, strings, byte arrays), which is what most protocol messages are (`[6, seq,
 * <bytes>]`, `[5, seq, op, <bytes>, ack, ack]`). msgpackr finds a byte array's encoding by
 * testing it against each of its extension classes in turn, which made a byte array by far
 * the costliest leaf to write (BENCHMARKS.md, "Eleventh session"). The output is what
 * `encodeFrame` promises for these values: minimal integer and length headers, safe integers
 * as integers (64-bit ones too), other numbers as float 64, `undefined` as nil.
 */

const SLAB_BYTES = 64 * 1024;
/** Strings up to this long are measured and written in JavaScript: cheaper than a native call. */
const SHORT_STRING = 64;
const TWO_32 = 2 ** 32;

const hasBuffer = typeof Buffer !== "undefined";
/** Strings are written with `Buffer#write` where Node's Buffer exists, so slabs are Buffers there. */
const allocate = (bytes: number): Uint8Array =>
  hasBuffer ? Buffer.allocUnsafeSlow(bytes) : new Uint8Array(bytes);
const NodeBuffer: unknown = hasBuffer ? Buffer : Uint8Array;
const utf8 = new TextEncoder();

/**
 * A frame that may take more than this gets a buffer of its own, of its size. Cut from the
 * slab, three 16 KiB frames filled one and left a quarter of it unused, and every byte of a
 * fresh buffer counts toward the young-generation collection V8 starts after each 32 MiB of
 * new buffers: under large messages those collections are most of the GC (BENCHMARKS.md,
 * "Fourteenth session").
 */
const OWN_BUFFER_BYTES = SLAB_BYTES / 8;

/**
 * Frames are cut from one slab, as msgpackr cuts them from its buffer: each frame is a view, so
 * the slab lives as long as any frame cut from it; a large frame gets a buffer of its own.
 */
let slab = allocate(SLAB_BYTES);
let slabUsed = 0;
let slabView = new DataView(slab.buffer, slab.byteOffset, slab.byteLength);

/**
 * The UTF-8 lengths of the message's long strings, in order: measured once, to size the frame,
 * and used again for their headers (measuring a long string costs about as much as writing it).
 */
const longStringBytes: number[] = [];
let longStringsWritten = 0;

// The frame being written.
let out: Uint8Array = slab;
let view: DataView = slabView;
let pos = 0;

/**
 * `message` as one MessagePack frame if it is an array of plain leaves, else undefined (the
 * caller encodes it another way).
 */
export function encodeFlatMessage(message: unknown, take?: TakeMemory): Uint8Array | undefined {
  if (!Array.isArray(message)) return undefined;
  const length = message.length;
  if (length > 0xffff) return undefined;
  let most = 3; // the array header
  // Most messages have no long string; truncating an empty array still calls into V8's builtin.
  if (longStringBytes.length !== 0) longStringBytes.length = 0;
  longStringsWritten = 0;
  for (let i = 0; i < length; i++) {
    const size = mostBytes(message[i]);
    if (size < 0) return undefined;
    most += size;
  }
  const start = reserve(most, take);
  if (length < 0x10) out[pos++] = 0x90 | length;
  else {
    out[pos++] = 0xdc;
    out[pos++] = length >> 8;
    out[pos++] = length & 0xff;
  }
  for (let i = 0; i < length; i++) writeLeaf(message[i]);
  // A plain view: a Buffer's subarray costs twice as much, and a frame needs no Buffer methods.
  const frame = new Uint8Array(out.buffer, out.byteOffset + start, pos - start);
  if (out === slab) slabUsed = pos;
  return frame;
}

/** The most bytes `leaf` can take, or -1 if it is not a plain leaf. */
function mostBytes(leaf: unknown): number {
  switch (typeof leaf) {
    case "number":
      return 9;
    case "boolean":
    case "undefined":
      return 1;
    case "string":
      return 5 + (leaf.length <= SHORT_STRING ? leaf.length * 3 : measureLongString(leaf));
    case "object":
      if (leaf === null) return 1;
      if (leaf.constructor === Uint8Array || leaf.constructor === NodeBuffer)
        return 5 + (leaf as Uint8Array).byteLength;
      return -1;
    default:
      return -1;
  }
}

/**
 * Memory for a frame of its own, from a pool (a Node `Buffer` where there is one), or undefined
 * to allocate it.
 */
export type TakeMemory = (bytes: number) => Uint8Array | undefined;

/**
 * Where a frame of at most `bytes` starts: in the slab, a new slab, or a buffer of its own
 * (from `take` when given and it gives one).
 */
function reserve(bytes: number, take: TakeMemory | undefined): number {
  if (bytes > OWN_BUFFER_BYTES) {
    const reused = take?.(bytes);
    out = reused ?? allocate(bytes); // a Buffer where there is one, as `allocate` gives
    view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    pos = 0;
    return 0;
  }
  if (slabUsed + bytes > slab.length) {
    slab = allocate(SLAB_BYTES);
    slabUsed = 0;
    slabView = new DataView(slab.buffer, slab.byteOffset, slab.byteLength);
  }
  out = slab;
  view = slabView;
  pos = slabUsed;
  return pos;
}

function writeLeaf(leaf: unknown): void {
  switch (typeof leaf) {
    case "number":
      writeNumber(leaf);
      return;
    case "boolean":
      out[pos++] = leaf ? 0xc3 : 0xc2;
      return;
    case "string":
      writeString(leaf);
      return;
    default:
      if (leaf === null || leaf === undefined) out[pos++] = 0xc0;
      else writeBytes(leaf as Uint8Array);
  }
}

function writeNumber(value: number): void {
  if (!Number.isSafeInteger(value)) {
    out[pos++] = 0xcb;
    view.setFloat64(pos, value);
    pos += 8;
  } else if (value >= 0) {
    if (value < 0x80) out[pos++] = value;
    else if (value < 0x100) {
      out[pos++] = 0xcc;
      out[pos++] = value;
    } else if (value < 0x10000) {
      out[pos++] = 0xcd;
      writeUint16(value);
    } else if (value < TWO_32) {
      out[pos++] = 0xce;
      writeUint32(value);
    } else {
      out[pos++] = 0xcf;
      writeUint32(Math.floor(value / TWO_32));
      writeUint32(value >>> 0);
    }
  } else if (value >= -0x20) out[pos++] = value & 0xff;
  else if (value >= -0x80) {
    out[pos++] = 0xd0;
    out[pos++] = value & 0xff;
  } else if (value >= -0x8000) {
    out[pos++] = 0xd1;
    writeUint16(value & 0xffff);
  } else if (value >= -0x80000000) {
    out[pos++] = 0xd2;
    writeUint32(value >>> 0);
  } else {
    out[pos++] = 0xd3;
    const high = Math.floor(value / TWO_32);
    writeUint32(high >>> 0);
    writeUint32(value - high * TWO_32);
  }
}

function writeUint16(value: number): void {
  out[pos++] = value >> 8;
  out[pos++] = value & 0xff;
}

function writeUint32(value: number): void {
  out[pos++] = value >>> 24;
  out[pos++] = (value >> 16) & 0xff;
  out[pos++] = (value >> 8) & 0xff;
  out[pos++] = value & 0xff;
}

function writeString(text: string): void {
  const length = text.length;
  if (length <= SHORT_STRING && writeAscii(text, length)) return;
  const bytes = length <= SHORT_STRING ? utf8Length(text) : (longStringBytes[longStringsWritten++] as number);
  writeHeader(bytes, 0xa0, 0xd9, 0xda, 0xdb);
  if (hasBuffer) (out as Buffer).write(text, pos, bytes, "utf8");
  else utf8.encodeInto(text, out.subarray(pos, pos + bytes));
  pos += bytes;
}

/** Writes `text` if it is ASCII (one byte a character); false, having written nothing, if not. */
function writeAscii(text: string, length: number): boolean {
  const at = pos;
  out[pos++] = length < 0x20 ? 0xa0 | length : 0xd9;
  if (length >= 0x20) out[pos++] = length;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) {
      pos = at;
      return false;
    }
    out[pos++] = code;
  }
  return true;
}

function writeBytes(bytes: Uint8Array): void {
  writeHeader(bytes.byteLength, -1, 0xc4, 0xc5, 0xc6);
  out.set(bytes, pos);
  pos += bytes.byteLength;
}

/** A str or bin header: `fix` (or -1: none) below 32 bytes, then 8-, 16- and 32-bit lengths. */
function writeHeader(length: number, fix: number, head8: number, head16: number, head32: number): void {
  if (fix >= 0 && length < 0x20) out[pos++] = fix | length;
  else if (length < 0x100) {
    out[pos++] = head8;
    out[pos++] = length;
  } else if (length < 0x10000) {
    out[pos++] = head16;
    writeUint16(length);
  } else {
    out[pos++] = head32;
    writeUint32(length);
  }
}

function measureLongString(text: string): number {
  const bytes = utf8Length(text);
  longStringBytes.push(bytes);
  return bytes;
}

/** UTF-8 bytes of `text`, lone surrogates counted as U+FFFD (3 bytes), as the writers encode them. */
function utf8Length(text: string): number {
  if (hasBuffer) return Buffer.byteLength(text, "utf8");
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

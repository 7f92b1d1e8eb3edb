/**
 * Tether's decoder for plain MessagePack (see `checkPlainMessagePack` and docs/PROTOCOL.md,
 * "Encoding"): it refuses what is not plain as it reads, so a frame is walked once. msgpackr
 * cannot be told to do this per instance (its extensions are process-wide), and checking a frame
 * before handing it to msgpackr walked every frame twice.
 *
 * Each item costs a constant or its own length, containers never allocate more slots than the
 * bytes left could fill, and nesting is bounded: decoding is linear in the frame's size.
 * Strings decode as UTF-8 with U+FFFD for invalid sequences; `bin` decodes to a view into the
 * frame; a key `__proto__` becomes an ordinary own property, as `JSON.parse` makes it.
 */
import { ProtocolError } from "../errors.js";
import { DEFAULT_MAX_NESTING } from "./plain-msgpack.js";

const EMPTY = new Uint8Array(0);
// The frame being decoded. A decode runs to completion on this thread and calls no other code,
// so one set of cursors serves every call.
let bytes: Uint8Array = EMPTY;
let pos = 0;
let end = 0;
let nestingLimit = DEFAULT_MAX_NESTING;

const TWO_32 = 2 ** 32;
/** 2^53 >> 32: a 64-bit integer whose high word is below this fits a double exactly. */
const SAFE_HIGH = 0x200000;

/** Floats are read by copying their 4 or 8 bytes here, so no DataView is made per frame. */
const floatBytes = new Uint8Array(8);
const floatView = new DataView(floatBytes.buffer);

const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
/** Node's Buffer decodes UTF-8 in place (the method behind its `toString`); elsewhere TextDecoder needs a view. */
const bufferUtf8Slice: ((this: Uint8Array, start: number, end: number) => string) | undefined =
  typeof Buffer === "undefined" ? undefined : (Buffer.prototype as unknown as { utf8Slice: never }).utf8Slice;
/** Strings up to this long that are ASCII are built in JavaScript: cheaper than a native call. */
const SHORT_STRING = 32;

/**
 * Decodes `frame`, which must hold exactly one plain MessagePack value nested at most
 * `maxNesting` deep. Throws `ProtocolError` saying why when it does not.
 */
export function decodePlainMessagePack(frame: Uint8Array, maxNesting = DEFAULT_MAX_NESTING): unknown {
  bytes = frame;
  pos = 0;
  end = frame.length;
  nestingLimit = maxNesting;
  try {
    const value = readValue(0);
    if (pos !== end) refuse("bytes after the MessagePack value");
    return value;
  } finally {
    bytes = EMPTY; // do not keep the last frame alive
  }
}

function refuse(why: string): never {
  throw new ProtocolError(`frame is not plain MessagePack: ${why}`);
}

function truncated(): never {
  refuse("truncated MessagePack value");
}

/** Reserves `n` bytes at the cursor and returns where they start. */
function take(n: number): number {
  const at = pos;
  if (at + n > end) truncated();
  pos = at + n;
  return at;
}

function uint16(at: number): number {
  return ((bytes[at] as number) << 8) | (bytes[at + 1] as number);
}

function uint32(at: number): number {
  return (
    (bytes[at] as number) * 0x1000000 +
    (((bytes[at + 1] as number) << 16) | ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number))
  );
}

/** `depth`: the containers enclosing this value. */
function readValue(depth: number): unknown {
  if (pos >= end) truncated();
  const head = bytes[pos++] as number;
  if (head <= 0x7f) return head;
  if (head >= 0xe0) return head - 0x100;
  if (head <= 0x8f) return readMap(head & 0x0f, depth);
  if (head <= 0x9f) return readArray(head & 0x0f, depth);
  if (head <= 0xbf) return readString(head & 0x1f);
  switch (head) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      return readBytes(bytes[take(1)] as number);
    case 0xc5:
      return readBytes(uint16(take(2)));
    case 0xc6:
      return readBytes(uint32(take(4)));
    case 0xca:
      return readFloat(4);
    case 0xcb:
      return readFloat(8);
    case 0xcc:
      return bytes[take(1)] as number;
    case 0xcd:
      return uint16(take(2));
    case 0xce:
      return uint32(take(4));
    case 0xcf:
      return readUint64(take(8));
    case 0xd0:
      return ((bytes[take(1)] as number) << 24) >> 24;
    case 0xd1:
      return (uint16(take(2)) << 16) >> 16;
    case 0xd2:
      return uint32(take(4)) | 0;
    case 0xd3:
      return readInt64(take(8));
    case 0xd9:
      return readString(bytes[take(1)] as number);
    case 0xda:
      return readString(uint16(take(2)));
    case 0xdb:
      return readString(uint32(take(4)));
    case 0xdc:
      return readArray(uint16(take(2)), depth);
    case 0xdd:
      return readArray(uint32(take(4)), depth);
    case 0xde:
      return readMap(uint16(take(2)), depth);
    case 0xdf:
      return readMap(uint32(take(4)), depth);
    default:
      // 0xc1 (never used), ext 8/16/32 (0xc7-0xc9), fixext 1-16 (0xd4-0xd8).
      return refuse(
        head === 0xc1 ? "MessagePack 0xC1 is never used" : "MessagePack extension types are not accepted",
      );
  }
}

function readArray(length: number, depth: number): unknown[] {
  openContainer(length, depth);
  const array = new Array<unknown>(length);
  for (let i = 0; i < length; i++) array[i] = readValue(depth + 1);
  return array;
}

function readMap(entries: number, depth: number): Record<string, unknown> {
  openContainer(entries * 2, depth);
  const object: Record<string, unknown> = {};
  for (let i = 0; i < entries; i++) {
    const key = readKey();
    const value = readValue(depth + 1);
    if (key === "__proto__")
      Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
    else object[key] = value;
  }
  return object;
}

/** Refuses a container too deep, or declaring more items than the bytes left could hold (each takes one at least). */
function openContainer(items: number, depth: number): void {
  if (depth >= nestingLimit) refuse(`nested deeper than ${nestingLimit}`);
  if (items > end - pos) refuse("container declares more items than the frame holds");
}

/** Map keys are strings or integers; an integer becomes its decimal string, as in any JavaScript object. */
function readKey(): string {
  if (pos >= end) truncated();
  const head = bytes[pos] as number;
  const isKey =
    head <= 0x7f ||
    head >= 0xe0 ||
    (head >= 0xa0 && head <= 0xbf) ||
    (head >= 0xcc && head <= 0xd3) ||
    (head >= 0xd9 && head <= 0xdb);
  if (!isKey) refuse("map key is not a string or an integer");
  if (head >= 0xa0 && head <= 0xbf) {
    pos++;
    return readCachedKey(head & 0x1f);
  }
  const key = readValue(0);
  return typeof key === "string" ? key : String(key);
}

/**
 * Short keys recur from frame to frame (the same fields in every request), so the last string
 * decoded for each slot is kept with its bytes: a hit returns the same string, which V8 then
 * need not look up again as a property name. A miss costs one copy of the key's bytes.
 */
const KEY_CACHE_SLOTS = 4096;
const MAX_CACHED_KEY = 16;
const cachedKeyBytes: (Uint8Array | undefined)[] = new Array(KEY_CACHE_SLOTS);
const cachedKeys: string[] = new Array(KEY_CACHE_SLOTS);

function readCachedKey(length: number): string {
  if (length > MAX_CACHED_KEY) return readString(length);
  const at = take(length);
  const stop = at + length;
  let slot = length;
  for (let i = at; i < stop; i++) slot = (slot * 31 + (bytes[i] as number)) & (KEY_CACHE_SLOTS - 1);
  const known = cachedKeyBytes[slot];
  if (known !== undefined && known.length === length) {
    let same = true;
    for (let i = 0; i < length; i++) {
      if (known[i] !== bytes[at + i]) {
        same = false;
        break;
      }
    }
    if (same) return cachedKeys[slot] as string;
  }
  pos = at;
  const key = readString(length);
  cachedKeyBytes[slot] = Uint8Array.prototype.slice.call(bytes, at, stop); // a copy: Buffer#slice is a view
  cachedKeys[slot] = key;
  return key;
}

/** A plain view, whatever the frame is: a `Buffer`'s `subarray` makes a `Buffer`, at twice the cost. */
function readBytes(length: number): Uint8Array {
  const at = take(length);
  return new Uint8Array(bytes.buffer, bytes.byteOffset + at, length);
}

function readString(length: number): string {
  const at = take(length);
  const stop = at + length;
  if (length <= SHORT_STRING) {
    let text = "";
    for (let i = at; i < stop; i++) {
      const byte = bytes[i] as number;
      if (byte >= 0x80) return decodeUtf8(at, stop);
      text += String.fromCharCode(byte);
    }
    return text;
  }
  return decodeUtf8(at, stop);
}

function decodeUtf8(start: number, stop: number): string {
  if (bufferUtf8Slice !== undefined && bytes instanceof Buffer)
    return bufferUtf8Slice.call(bytes, start, stop);
  return utf8.decode(bytes.subarray(start, stop));
}

function readFloat(size: 4 | 8): number {
  const at = take(size);
  for (let i = 0; i < size; i++) floatBytes[i] = bytes[at + i] as number;
  return size === 4 ? floatView.getFloat32(0) : floatView.getFloat64(0);
}

/** Within ±2^53 a number (whatever width it came in); beyond, exactly, a BigInt. */
function readUint64(at: number): number | bigint {
  const high = uint32(at);
  const low = uint32(at + 4);
  if (high < SAFE_HIGH || (high === SAFE_HIGH && low === 0)) return high * TWO_32 + low;
  return (BigInt(high) << 32n) | BigInt(low);
}

function readInt64(at: number): number | bigint {
  const high = uint32(at) | 0;
  const low = uint32(at + 4);
  if ((high >= -SAFE_HIGH && high < SAFE_HIGH) || (high === SAFE_HIGH && low === 0))
    return high * TWO_32 + low;
  return (BigInt(high) << 32n) | BigInt(low);
}

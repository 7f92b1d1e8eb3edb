/**
 * The subset of MessagePack that Tether speaks: nil, booleans, integers, floats, str, bin,
 * arrays and maps whose keys are strings or integers. No extension type (msgpackr's records,
 * shared references, Date, Set, RegExp, Error, typed arrays, `undefined`, the timestamp type),
 * and no 0xC1. See docs/PROTOCOL.md, "Encoding".
 *
 * `checkPlainMessagePack` walks one encoded value without decoding it: each item costs a
 * constant (strings and byte strings are skipped by their length), so a frame costs what its
 * bytes cost. It runs before msgpackr's decoder sees a frame, so that decoder, whose extensions
 * are process-wide, only ever reads plain data.
 */

/** Containers (arrays and maps) nested deeper than this are refused. The message array counts. */
export const DEFAULT_MAX_NESTING = 64;

const TWO_32 = 2 ** 32;

/**
 * Checks that `bytes` hold exactly one plain MessagePack value, nested at most `maxNesting`
 * deep. Returns undefined if so, or why not. With `forSending` (msgpackr's output, about to be
 * sent), two things msgpackr writes are mended in place, each keeping its size, for peers in
 * other languages: float64 items that hold a safe integer (how msgpackr writes integers beyond
 * 32 bits) become int64/uint64, and lone surrogates in strings, which msgpackr writes as WTF-8
 * (refused by strict UTF-8 decoders), become U+FFFD.
 */
export function checkPlainMessagePack(
  bytes: Uint8Array,
  maxNesting = DEFAULT_MAX_NESTING,
  forSending = false,
): string | undefined {
  const end = bytes.length;
  if (outerPending.length < maxNesting) {
    outerPending = new Float64Array(maxNesting);
    outerIsMap = new Uint8Array(maxNesting);
  }
  // Items still to come in the innermost open container (the top level holds one), whether
  // it is a map (its keys come at even counts), and how deep it is. The enclosing containers'
  // counts wait in one scratch stack for every call: the walk runs to completion on this thread.
  let pending = 1;
  let inMap = false;
  let depth = 0;
  let pos = 0;
  for (;;) {
    while (pending === 0) {
      if (depth === 0) {
        if (pos === end) return undefined;
        return pos > end ? "truncated MessagePack value" : "bytes after the MessagePack value";
      }
      depth--;
      pending = outerPending[depth] as number;
      inMap = outerIsMap[depth] === 1;
    }
    if (pos >= end) return "truncated MessagePack value";
    const b = bytes[pos] as number;
    if (inMap && pending % 2 === 0 && !isKeyHead(b)) return "map key is not a string or an integer";
    pending--;
    let children = 0;
    let map = false;
    if (b <= 0x7f || b >= 0xe0) {
      pos++; // fixint
      continue;
    }
    if (b <= 0x9f) {
      // fixmap, fixarray
      map = b <= 0x8f;
      children = map ? (b & 0x0f) * 2 : b & 0x0f;
      pos++;
    } else if (b <= 0xbf) {
      // fixstr
      if (forSending) replaceLoneSurrogates(bytes, pos + 1, pos + 1 + (b & 0x1f));
      pos += 1 + (b & 0x1f);
      continue;
    } else {
      switch (b) {
        case 0xc0:
        case 0xc2:
        case 0xc3:
          pos++;
          continue;
        case 0xc4:
        case 0xd9: {
          if (pos + 2 > end) return "truncated MessagePack value";
          const length = bytes[pos + 1] as number;
          if (forSending && b === 0xd9) replaceLoneSurrogates(bytes, pos + 2, pos + 2 + length);
          pos += 2 + length;
          continue;
        }
        case 0xc5:
        case 0xda: {
          if (pos + 3 > end) return "truncated MessagePack value";
          const length = uint16(bytes, pos + 1);
          if (forSending && b === 0xda) replaceLoneSurrogates(bytes, pos + 3, pos + 3 + length);
          pos += 3 + length;
          continue;
        }
        case 0xc6:
        case 0xdb: {
          if (pos + 5 > end) return "truncated MessagePack value";
          const length = uint32(bytes, pos + 1);
          if (forSending && b === 0xdb) replaceLoneSurrogates(bytes, pos + 5, pos + 5 + length);
          pos += 5 + length;
          continue;
        }
        case 0xcc:
        case 0xd0:
          pos += 2;
          continue;
        case 0xcd:
        case 0xd1:
          pos += 3;
          continue;
        case 0xca:
        case 0xce:
        case 0xd2:
          pos += 5;
          continue;
        case 0xcb:
          if (forSending && pos + 9 <= end) rewriteIntegralFloat(bytes, pos);
          pos += 9;
          continue;
        case 0xcf:
        case 0xd3:
          pos += 9;
          continue;
        case 0xdc:
        case 0xde:
          if (pos + 3 > end) return "truncated MessagePack value";
          map = b === 0xde;
          children = uint16(bytes, pos + 1) * (map ? 2 : 1);
          pos += 3;
          break;
        case 0xdd:
        case 0xdf:
          if (pos + 5 > end) return "truncated MessagePack value";
          map = b === 0xdf;
          children = uint32(bytes, pos + 1) * (map ? 2 : 1);
          pos += 5;
          break;
        default:
          // 0xc1 (never used), ext 8/16/32 (0xc7-0xc9), fixext 1-16 (0xd4-0xd8).
          return b === 0xc1
            ? "MessagePack 0xC1 is never used"
            : "MessagePack extension types are not accepted";
      }
    }
    // A container: arrays and maps reach here, scalars went on above.
    if (depth >= maxNesting) return `nested deeper than ${maxNesting}`;
    if (children === 0) continue;
    // Every item takes at least one byte: a count beyond what is left is a lie.
    if (children > end - pos) return "container declares more items than the frame holds";
    outerPending[depth] = pending;
    outerIsMap[depth] = inMap ? 1 : 0;
    depth++;
    pending = children;
    inMap = map;
  }
}
let outerPending = new Float64Array(DEFAULT_MAX_NESTING);
let outerIsMap = new Uint8Array(DEFAULT_MAX_NESTING);

const uint16 = (bytes: Uint8Array, at: number): number =>
  ((bytes[at] as number) << 8) | (bytes[at + 1] as number);

const uint32 = (bytes: Uint8Array, at: number): number =>
  (bytes[at] as number) * 0x1000000 +
  (((bytes[at + 1] as number) << 16) | ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number));

/** Map keys: integers (fixint, uint 8-64, int 8-64) and strings (fixstr, str 8/16/32). */
function isKeyHead(b: number): boolean {
  return (
    b <= 0x7f || b >= 0xe0 || (b >= 0xa0 && b <= 0xbf) || (b >= 0xcc && b <= 0xd3) || (b >= 0xd9 && b <= 0xdb)
  );
}

/** Strings up to this many bytes are scanned in place, longer ones through a view. */
const SCAN_IN_PLACE = 64;

/**
 * A lone surrogate in WTF-8 is ED A0-BF xx (a surrogate pair is written as one four-byte
 * sequence, so these bytes mean a lone one); it becomes U+FFFD, EF BF BD, the same size.
 */
function replaceLoneSurrogates(bytes: Uint8Array, start: number, stop: number): void {
  const end = Math.min(stop, bytes.length);
  // Short strings (map keys, most values) are looked at in place; a long one through a view,
  // so the native search stops at its end.
  if (end - start <= SCAN_IN_PLACE) {
    for (let at = start; at + 2 < end; at++) {
      if (bytes[at] === 0xed && (bytes[at + 1] as number) >= 0xa0) replaceAt(bytes, at);
    }
    return;
  }
  const text = bytes.subarray(start, end);
  for (let at = text.indexOf(0xed); at >= 0 && at + 2 < text.length; at = text.indexOf(0xed, at + 1)) {
    if ((text[at + 1] as number) >= 0xa0) replaceAt(text, at);
  }
}

function replaceAt(bytes: Uint8Array, at: number): void {
  bytes[at] = 0xef;
  bytes[at + 1] = 0xbf;
  bytes[at + 2] = 0xbd;
}

/** A float64 at `pos` holding a safe integer beyond 32 bits becomes a uint64/int64 (also 9 bytes). */
function rewriteIntegralFloat(bytes: Uint8Array, pos: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const value = view.getFloat64(pos + 1);
  if (!Number.isSafeInteger(value)) return;
  if (value >= 0) {
    view.setUint8(pos, 0xcf);
    view.setUint32(pos + 1, Math.floor(value / TWO_32));
    view.setUint32(pos + 5, value % TWO_32);
  } else {
    view.setUint8(pos, 0xd3);
    view.setBigInt64(pos + 1, BigInt(value));
  }
}

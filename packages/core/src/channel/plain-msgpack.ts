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
 * deep. Returns undefined if so, or why not. With `integersAsIntegers`, float64 items that
 * hold a safe integer (msgpackr writes integers beyond 32 bits that way) are rewritten in
 * place as int64/uint64 of the same size: the sending side, for peers in other languages.
 */
export function checkPlainMessagePack(
  bytes: Uint8Array,
  maxNesting = DEFAULT_MAX_NESTING,
  integersAsIntegers = false,
): string | undefined {
  const end = bytes.byteLength;
  // Per open container: items still to come, and whether it is a map (keys at even counts).
  const remaining: number[] = [];
  const isMap: boolean[] = [];
  let depth = 0;
  let pos = 0;
  let view: DataView | undefined;
  for (;;) {
    if (pos >= end) return "truncated MessagePack value";
    const b = bytes[pos] as number;
    const key = depth > 0 && (isMap[depth - 1] as boolean) && (remaining[depth - 1] as number) % 2 === 0;
    if (key && !isKeyHead(b)) return "map key is not a string or an integer";
    let size = 0; // bytes of payload after the head
    let children = -1; // items a container holds; -1 for a scalar
    let head = 1;
    let map = false;
    if (b <= 0x7f || b >= 0xe0) {
      // fixint: a key as good as any
    } else if (b <= 0x8f) {
      children = (b & 0x0f) * 2;
      map = true;
    } else if (b <= 0x9f) {
      children = b & 0x0f;
    } else if (b <= 0xbf) {
      size = b & 0x1f;
    } else {
      view ??= new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      switch (b) {
        case 0xc0:
        case 0xc2:
        case 0xc3:
          break;
        case 0xc4:
        case 0xd9:
          if (pos + 2 > end) return "truncated MessagePack value";
          size = bytes[pos + 1] as number;
          head = 2;
          break;
        case 0xc5:
        case 0xda:
          if (pos + 3 > end) return "truncated MessagePack value";
          size = view.getUint16(pos + 1);
          head = 3;
          break;
        case 0xc6:
        case 0xdb:
          if (pos + 5 > end) return "truncated MessagePack value";
          size = view.getUint32(pos + 1);
          head = 5;
          break;
        case 0xca:
          size = 4;
          break;
        case 0xcb:
          size = 8;
          if (integersAsIntegers && pos + 9 <= end) rewriteIntegralFloat(view, pos);
          break;
        case 0xcc:
        case 0xd0:
          size = 1;
          break;
        case 0xcd:
        case 0xd1:
          size = 2;
          break;
        case 0xce:
        case 0xd2:
          size = 4;
          break;
        case 0xcf:
        case 0xd3:
          size = 8;
          break;
        case 0xdc:
        case 0xde:
          if (pos + 3 > end) return "truncated MessagePack value";
          children = view.getUint16(pos + 1) * (b === 0xde ? 2 : 1);
          map = b === 0xde;
          head = 3;
          break;
        case 0xdd:
        case 0xdf:
          if (pos + 5 > end) return "truncated MessagePack value";
          children = view.getUint32(pos + 1) * (b === 0xdf ? 2 : 1);
          map = b === 0xdf;
          head = 5;
          break;
        default:
          // 0xc1 (never used), ext 8/16/32 (0xc7-0xc9), fixext 1-16 (0xd4-0xd8).
          return b === 0xc1
            ? "MessagePack 0xC1 is never used"
            : "MessagePack extension types are not accepted";
      }
    }
    pos += head + size;
    if (pos > end) return "truncated MessagePack value";
    if (children >= 0 && depth >= maxNesting) return `nested deeper than ${maxNesting}`;
    if (children > 0) {
      // Every item takes at least one byte: a count beyond what is left is a lie.
      if (children > end - pos) return "container declares more items than the frame holds";
      remaining[depth] = children;
      isMap[depth] = map;
      depth++;
      continue;
    }
    // One item done: close every container it completes.
    while (depth > 0) {
      const left = (remaining[depth - 1] as number) - 1;
      if (left > 0) {
        remaining[depth - 1] = left;
        break;
      }
      depth--;
    }
    if (depth === 0) return pos === end ? undefined : "bytes after the MessagePack value";
  }
}

/** Map keys: integers (fixint, uint 8-64, int 8-64) and strings (fixstr, str 8/16/32). */
function isKeyHead(b: number): boolean {
  return (
    b <= 0x7f || b >= 0xe0 || (b >= 0xa0 && b <= 0xbf) || (b >= 0xcc && b <= 0xd3) || (b >= 0xd9 && b <= 0xdb)
  );
}

/** A float64 at `pos` holding a safe integer beyond 32 bits becomes a uint64/int64 (also 9 bytes). */
function rewriteIntegralFloat(view: DataView, pos: number): void {
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

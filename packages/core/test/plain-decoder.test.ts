import { encode } from "@msgpack/msgpack";
import fc from "fast-check";
import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { decodePlainMessagePack } from "../src/channel/plain-decoder.js";
import { checkPlainMessagePack, ProtocolError } from "../src/index.js";

/** Fixed, so a run replays exactly; explore with FUZZ_SEED=<n>. */
const seed = Number(process.env.FUZZ_SEED ?? 20261202);
const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: "auto" as "bigint" });

/** Plain values as a peer in another language sends them: safe integers, 64-bit BigInts, floats, UTF-8 text, bytes. */
const plainValue = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.oneof(
      fc.bigInt({ min: 2n ** 53n + 1n, max: 2n ** 64n - 1n }),
      fc.bigInt({ min: -(2n ** 63n), max: -(2n ** 53n) - 1n }),
    ),
    fc.double({ noNaN: true }).filter((x) => !Number.isInteger(x)),
    fc.string({ unit: "grapheme", maxLength: 40 }),
    fc.string({ unit: "binary", minLength: 33, maxLength: 300 }),
    fc.uint8Array({ maxLength: 300 }),
  ),
  value: fc.oneof({ depthSize: "small" }, tie("leaf"), tie("array"), tie("map")),
  array: fc.array(tie("value"), { maxLength: 8 }),
  map: fc.dictionary(fc.string({ unit: "grapheme", maxLength: 20 }), tie("value"), { maxKeys: 8 }),
})).value;

/** What the decoder must give back: a byte array arrives as a view of the frame, equal in content. */
const asBytes = (value: unknown): unknown =>
  value instanceof Uint8Array
    ? Array.from(value)
    : Array.isArray(value)
      ? value.map(asBytes)
      : value !== null && typeof value === "object"
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asBytes(v)]))
        : value;

function refusal(frame: Uint8Array): string | undefined {
  try {
    decodePlainMessagePack(frame);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return (error as Error).message;
  }
}

describe("decodePlainMessagePack", () => {
  it("decodes what an independent MessagePack encoder writes to the same values", () => {
    fc.assert(
      fc.property(plainValue, (value) => {
        const frame = encode(value, { useBigInt64: true });
        expect(asBytes(decodePlainMessagePack(frame))).toEqual(asBytes(value));
      }),
      { seed, numRuns: 2000 },
    );
  });

  it("decodes plain frames as msgpackr does, from a Buffer and from a plain Uint8Array", () => {
    fc.assert(
      fc.property(plainValue, (value) => {
        const frame = packr.pack(value);
        const expected = asBytes(packr.unpack(frame));
        expect(asBytes(decodePlainMessagePack(frame))).toEqual(expected);
        expect(asBytes(decodePlainMessagePack(Uint8Array.from(frame)))).toEqual(expected);
      }),
      { seed, numRuns: 2000 },
    );
  });

  it("accepts exactly the frames checkPlainMessagePack accepts, and refuses the rest with a ProtocolError", () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      // Valid frames with one byte changed or cut short: near misses reach deeper than noise.
      fc.tuple(plainValue, fc.nat(), fc.nat({ max: 255 }), fc.boolean()).map(([value, at, byte, cut]) => {
        const frame = Uint8Array.from(encode(value, { useBigInt64: true }));
        const i = at % frame.length;
        if (cut) return frame.subarray(0, i);
        frame[i] = byte;
        return frame;
      }),
    );
    fc.assert(
      fc.property(bytes, (frame) => {
        const checked = checkPlainMessagePack(frame);
        const decoded = refusal(frame);
        expect(decoded === undefined, `check: ${checked}, decoder: ${decoded}`).toBe(checked === undefined);
      }),
      { seed, numRuns: 20_000 },
    );
  });

  it("refuses every extension type, 0xC1 and trailing bytes, wherever they sit", () => {
    const heads = [0xc7, 0xc8, 0xc9, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8];
    for (const head of heads) {
      const ext = [head, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
      expect(refusal(Uint8Array.from(ext))).toMatch(/extension types are not accepted/);
      expect(refusal(Uint8Array.from([0x92, 0x01, ...ext]))).toMatch(/extension types are not accepted/);
      expect(refusal(Uint8Array.from([0x81, 0xa1, 0x61, ...ext]))).toMatch(
        /extension types are not accepted/,
      );
    }
    expect(refusal(Uint8Array.of(0x91, 0xc1))).toMatch(/0xC1/);
    expect(refusal(Uint8Array.of(0x01, 0x02))).toMatch(/bytes after/);
    expect(refusal(Uint8Array.of())).toMatch(/truncated/);
  });

  it("refuses map keys that are not strings or integers, and turns integer keys into their decimal strings", () => {
    for (const key of [
      [0xc0],
      [0xc3],
      [0xca, 0, 0, 0, 0],
      [0xcb, 0, 0, 0, 0, 0, 0, 0, 0],
      [0x90],
      [0x80],
      [0xc4, 0],
    ]) {
      expect(refusal(Uint8Array.from([0x81, ...key, 0x01])), key.join(",")).toMatch(/map key/);
    }
    expect(decodePlainMessagePack(Uint8Array.of(0x82, 0x07, 0xc3, 0xff, 0xc2))).toEqual({
      "7": true,
      "-1": false,
    });
  });

  it("bounds nesting and refuses containers that declare more items than the frame holds", () => {
    const nested = (levels: number) => Uint8Array.from([...new Array(levels).fill(0x91), 0x01]);
    expect(decodePlainMessagePack(nested(64))).toBeDefined();
    expect(refusal(nested(65))).toMatch(/nested deeper than 64/);
    expect(() => decodePlainMessagePack(nested(3), 2)).toThrow(/nested deeper than 2/);
    // 2^32 - 1 items declared in six bytes: refused before anything is allocated.
    expect(refusal(Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff, 0x01))).toMatch(/declares more items/);
    expect(refusal(Uint8Array.of(0xdf, 0x00, 0x00, 0x00, 0x02, 0x01, 0x01, 0x01))).toMatch(
      /declares more items/,
    );
  });

  it("decodes integers within ±2^53 to numbers whatever their width, and larger ones exactly as BigInt", () => {
    const int64 = (head: number, value: bigint) => {
      const frame = new Uint8Array(9);
      frame[0] = head;
      new DataView(frame.buffer).setBigUint64(1, BigInt.asUintN(64, value));
      return frame;
    };
    expect(decodePlainMessagePack(int64(0xcf, 7n))).toBe(7);
    expect(decodePlainMessagePack(int64(0xcf, 2n ** 53n))).toBe(2 ** 53);
    expect(decodePlainMessagePack(int64(0xcf, 2n ** 53n + 1n))).toBe(2n ** 53n + 1n);
    expect(decodePlainMessagePack(int64(0xcf, 2n ** 64n - 1n))).toBe(2n ** 64n - 1n);
    expect(decodePlainMessagePack(int64(0xd3, -7n))).toBe(-7);
    expect(decodePlainMessagePack(int64(0xd3, -(2n ** 53n)))).toBe(-(2 ** 53));
    expect(decodePlainMessagePack(int64(0xd3, -(2n ** 53n) - 1n))).toBe(-(2n ** 53n) - 1n);
    expect(decodePlainMessagePack(int64(0xd3, -(2n ** 63n)))).toBe(-(2n ** 63n));
    expect(decodePlainMessagePack(Uint8Array.of(0xd0, 0x80))).toBe(-128);
    expect(decodePlainMessagePack(Uint8Array.of(0xd1, 0x80, 0x00))).toBe(-32768);
    expect(decodePlainMessagePack(Uint8Array.of(0xd2, 0x80, 0, 0, 0))).toBe(-(2 ** 31));
    expect(decodePlainMessagePack(Uint8Array.of(0xce, 0xff, 0xff, 0xff, 0xff))).toBe(2 ** 32 - 1);
  });

  it("makes a __proto__ key an own property and never changes an object's prototype", () => {
    const decoded = decodePlainMessagePack(
      encode(JSON.parse('{"__proto__": {"polluted": true}, "a": 1}')),
    ) as Record<string, unknown>;
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(Object.hasOwn(decoded, "__proto__")).toBe(true);
    expect(Object.getOwnPropertyDescriptor(decoded, "__proto__")?.value).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("decodes text as UTF-8, keeps a leading BOM, and replaces invalid sequences with U+FFFD", () => {
    const withBom = Uint8Array.of(0xa4, 0xef, 0xbb, 0xbf, 0x61);
    expect(decodePlainMessagePack(withBom)).toBe("\uFEFFa");
    expect(decodePlainMessagePack(Buffer.from(withBom))).toBe("\uFEFFa");
    expect(decodePlainMessagePack(Uint8Array.of(0xa2, 0xff, 0x61))).toBe("\uFFFDa");
    expect(decodePlainMessagePack(Buffer.from([0xa2, 0xff, 0x61]))).toBe("\uFFFDa");
  });

  it("decodes bin as a plain Uint8Array view of the frame, and keeps no view of a frame in its key cache", () => {
    const frame = Buffer.from(encode({ key: Uint8Array.of(1, 2, 3) }));
    const { key } = decodePlainMessagePack(frame) as { key: Uint8Array };
    expect(key.buffer).toBe(frame.buffer);
    expect(key.constructor).toBe(Uint8Array); // as documented, from a Buffer frame too
    expect(Array.from(key)).toEqual([1, 2, 3]);
    // The same key's bytes, changed in place after decoding, are a different key.
    const first = Buffer.from(encode({ abc: 1 }));
    expect(decodePlainMessagePack(first)).toEqual({ abc: 1 });
    first[2] = 0x78; // "abc" -> "xbc"
    expect(decodePlainMessagePack(first)).toEqual({ xbc: 1 });
    expect(decodePlainMessagePack(encode({ abc: 2 }))).toEqual({ abc: 2 });
  });

  it("gives each of many short keys back correctly, whatever slot they share", () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => `k${i.toString(36)}`);
    for (const key of keys)
      expect(Object.keys(decodePlainMessagePack(encode({ [key]: 0 })) as object)).toEqual([key]);
    for (const key of keys.slice(0, 500))
      expect(Object.keys(decodePlainMessagePack(encode({ [key]: 0 })) as object)).toEqual([key]);
  });
});

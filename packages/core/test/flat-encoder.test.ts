import { decode } from "@msgpack/msgpack";
import fc from "fast-check";
import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { encodeFlatMessage } from "../src/channel/flat-encoder.js";
import { checkPlainMessagePack, decodeFrame } from "../src/index.js";

/** Fixed, so a run replays exactly; explore with FUZZ_SEED=<n>. */
const seed = Number(process.env.FUZZ_SEED ?? 20261203);
/** The encoding the flat encoder stands in for: msgpackr, with integers msgpackr wrote as floats rewritten. */
const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: false,
  encodeUndefinedAsNil: true,
});
function previousEncoding(message: unknown[]): Uint8Array {
  const frame = Uint8Array.from(packr.pack(message));
  expect(checkPlainMessagePack(frame, 64, true)).toBeUndefined();
  return frame;
}

const number = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.constantFrom(127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -(2 ** 53 - 1)),
  fc.constantFrom(-32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 32), -0),
  fc.double(),
  fc.constantFrom(2 ** 60, -(2 ** 60), 1e300, Number.NaN, Number.POSITIVE_INFINITY),
);
const leaf = fc.oneof(
  number,
  fc.boolean(),
  fc.constantFrom(null, undefined),
  fc.string({ unit: "grapheme", maxLength: 80 }),
  fc.string({ unit: "grapheme-ascii", minLength: 20, maxLength: 300 }),
  fc.string({ unit: "grapheme", minLength: 65, maxLength: 400 }),
  fc.uint8Array({ maxLength: 300 }),
  // Past the 16-bit length headers: str 32 and bin 32.
  fc.nat({ max: 9 }).map((n) => "é".repeat(32_768 + n)),
  fc.nat({ max: 9 }).map((n) => Buffer.alloc(65_536 + n, n)),
);
const flatMessage = fc.array(leaf, { maxLength: 20 });
/** Byte arrays as hex, so views of any kind compare by content. */
const comparable = (values: unknown[]) =>
  values.map((v) => (v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v));

describe("encodeFlatMessage", () => {
  it("writes arrays of plain leaves byte for byte as msgpackr with integers rewritten did", () => {
    fc.assert(
      fc.property(flatMessage, (message) => {
        const frame = encodeFlatMessage(message);
        expect(frame).toBeDefined();
        expect(Buffer.from(frame as Uint8Array).equals(previousEncoding(message))).toBe(true);
      }),
      { seed, numRuns: 3000 },
    );
  });

  it("writes what an independent decoder reads back as the same values", () => {
    fc.assert(
      fc.property(flatMessage, (message) => {
        const expected = comparable(message.map((v) => (v === undefined ? null : Object.is(v, -0) ? 0 : v)));
        const frame = encodeFlatMessage(message) as Uint8Array;
        expect(comparable(decode(frame) as unknown[])).toEqual(expected);
        expect(comparable(decodeFrame(frame) as unknown[])).toEqual(expected);
      }),
      { seed, numRuns: 1000 },
    );
  });

  it("writes safe integers beyond 32 bits as 64-bit integers and other numbers as float 64", () => {
    expect(Array.from(encodeFlatMessage([2 ** 40]) as Uint8Array)).toEqual([
      0x91, 0xcf, 0, 0, 1, 0, 0, 0, 0, 0,
    ]);
    expect(Array.from(encodeFlatMessage([-(2 ** 40)]) as Uint8Array)).toEqual([
      0x91, 0xd3, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0,
    ]);
    expect((encodeFlatMessage([0.5]) as Uint8Array)[1]).toBe(0xcb);
    expect((encodeFlatMessage([2 ** 60]) as Uint8Array)[1]).toBe(0xcb);
  });

  it("writes a lone surrogate as U+FFFD, so the frame is valid UTF-8 for strict decoders", () => {
    for (const text of ["a\ud800b", "\udc00", `${"x".repeat(70)}\ud800`]) {
      const frame = encodeFlatMessage([text]) as Uint8Array;
      expect(
        new TextDecoder("utf-8", { fatal: true }).decode(frame.subarray(frame[1] === 0xd9 ? 3 : 2)),
      ).toBe(text.replace(/[\ud800-\udfff]/g, "\ufffd"));
    }
  });

  it("leaves anything but an array of plain leaves to the general encoder", () => {
    for (const [i, message] of [
      "text",
      5,
      [[1]],
      [{ a: 1 }],
      [5n],
      [new Date(0)],
      [new Float32Array(1)],
      [Symbol("s")],
      [() => 1],
      new Array(0x10000).fill(0),
    ].entries()) {
      expect(encodeFlatMessage(message), `case ${i}`).toBeUndefined();
    }
  });

  it("never changes a frame it returned, across slabs and frames of their own", () => {
    const frames: Array<[Uint8Array, number[]]> = [];
    const body = new Uint8Array(3000).fill(9);
    for (let i = 0; i < 200; i++) {
      const message =
        i % 10 === 9 ? [6, i, new Uint8Array(50_000).fill(i)] : [6, i, body.subarray(0, i * 13)];
      const frame = encodeFlatMessage(message) as Uint8Array;
      frames.push([frame, Array.from(frame)]);
    }
    for (const [frame, bytes] of frames) expect(Array.from(frame)).toEqual(bytes);
  });
});

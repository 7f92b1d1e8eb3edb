import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  encodeLengthPrefixed,
  FrameTooLargeError,
  LengthPrefixDecoder,
  lengthPrefix,
  ProtocolError,
} from "../src/index.js";

const bytes = (...values: number[]) => Uint8Array.from(values);

function decodeAll(decoder: LengthPrefixDecoder, chunks: Uint8Array[]): number[][] {
  const out: number[][] = [];
  for (const chunk of chunks) decoder.push(chunk, (frame) => out.push([...frame]));
  return out;
}

describe("LengthPrefixDecoder", () => {
  it("decodes a fixture with two frames and an empty one in one chunk", () => {
    const wire = bytes(0, 0, 0, 2, 0xaa, 0xbb, 0, 0, 0, 0, 0, 0, 0, 1, 0xcc);
    expect(decodeAll(new LengthPrefixDecoder(16), [wire])).toEqual([[0xaa, 0xbb], [], [0xcc]]);
  });

  it("decodes a frame split byte by byte, header included", () => {
    const wire = bytes(0, 0, 0, 3, 1, 2, 3);
    const decoder = new LengthPrefixDecoder(16);
    const chunks = [...wire].map((b) => bytes(b));
    expect(decodeAll(decoder, chunks)).toEqual([[1, 2, 3]]);
    expect(decoder.hasPartialFrame).toBe(false);
  });

  it("throws FrameTooLargeError on the header alone", () => {
    const decoder = new LengthPrefixDecoder(16);
    expect(() => decoder.push(bytes(0, 0, 0, 17), () => {})).toThrow(FrameTooLargeError);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it("accepts a frame of exactly maxFrameBytes", () => {
    const frame = new Uint8Array(16).fill(7);
    const decoder = new LengthPrefixDecoder(16);
    expect(decodeAll(decoder, [encodeLengthPrefixed([frame])])).toEqual([[...frame]]);
  });

  it("reports a stream that ends inside a frame", () => {
    const decoder = new LengthPrefixDecoder(16);
    decoder.push(bytes(0, 0, 0, 4, 1), () => {});
    expect(decoder.hasPartialFrame).toBe(true);
    expect(() => decoder.end()).toThrow(ProtocolError);
    const clean = new LengthPrefixDecoder(16);
    clean.push(bytes(0, 0, 0, 0), () => {});
    expect(() => clean.end()).not.toThrow();
  });

  it("writes big-endian headers", () => {
    expect([...lengthPrefix(0x01020304)]).toEqual([1, 2, 3, 4]);
  });

  it("round-trips any frames through any chunking", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }),
        (frames, cuts) => {
          const wire = encodeLengthPrefixed(frames);
          const chunks: Uint8Array[] = [];
          for (let at = 0, i = 0; at < wire.length; i++) {
            const size = cuts[i % cuts.length] as number;
            chunks.push(wire.subarray(at, at + size));
            at += size;
          }
          const decoder = new LengthPrefixDecoder(300);
          expect(decodeAll(decoder, chunks)).toEqual(frames.map((f) => [...f]));
          expect(decoder.hasPartialFrame).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });
});

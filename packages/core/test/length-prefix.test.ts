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

  it("calls the sink with the context it was given, on push and on resume", () => {
    const reader = {
      frames: [] as number[][],
      take(this: { frames: number[][] }, frame: Uint8Array) {
        this.frames.push([...frame]);
        return this.frames.length !== 1; // stop after the first
      },
    };
    const decoder = new LengthPrefixDecoder(1024);
    decoder.push(encodeLengthPrefixed([bytes(1), bytes(2)]), reader.take, reader);
    expect(reader.frames).toEqual([[1]]);
    decoder.resume(reader.take, reader);
    expect(reader.frames).toEqual([[1], [2]]);
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

  it("round-trips through any chunking when the sink stops at random frames and resumes", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 10 }),
        (frames, cuts, stops) => {
          const wire = encodeLengthPrefixed(frames);
          const decoder = new LengthPrefixDecoder(300);
          const out: number[][] = [];
          let turn = 0;
          const sink = (frame: Uint8Array) => {
            out.push([...frame]);
            return !(stops[turn++ % stops.length] as boolean);
          };
          for (let at = 0, i = 0; at < wire.length; i++) {
            const size = cuts[i % cuts.length] as number;
            decoder.push(wire.subarray(at, at + size), sink);
            at += size;
          }
          while (decoder.stopped) decoder.resume(sink);
          expect(out).toEqual(frames.map((f) => [...f]));
          expect(decoder.hasPartialFrame).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("holds what arrives while stopped unparsed, and counts it", () => {
    const decoder = new LengthPrefixDecoder(100);
    const seen: number[][] = [];
    const stopAfterOne = (frame: Uint8Array) => {
      seen.push([...frame]);
      return false;
    };
    decoder.push(encodeLengthPrefixed([bytes(1), bytes(2), bytes(3)]), stopAfterOne);
    expect(seen).toEqual([[1]]);
    expect(decoder.stopped).toBe(true);
    decoder.push(encodeLengthPrefixed([bytes(4)]), stopAfterOne);
    expect(seen).toEqual([[1]]); // nothing is parsed while stopped
    expect(decoder.bufferedBytes).toBe(15);
    decoder.resume((frame) => {
      seen.push([...frame]);
    });
    expect(seen).toEqual([[1], [2], [3], [4]]);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it("holds room for twice what arrived plus 4 KiB, not for what a header claims", () => {
    const claimed = 1024 * 1024;
    const decoders = Array.from({ length: 200 }, () => new LengthPrefixDecoder(claimed));
    const before = process.memoryUsage().arrayBuffers;
    for (const decoder of decoders) {
      const chunk = new Uint8Array(4 + 1000);
      new DataView(chunk.buffer).setUint32(0, claimed);
      decoder.push(chunk, () => {});
    }
    const held = process.memoryUsage().arrayBuffers - before;
    // Each holds its chunk's copy in a body of at most 2 * 1000 + 4096 bytes; 200 frames of
    // the claimed size would be 200 MiB.
    expect(held).toBeLessThanOrEqual(200 * (1004 + 2 * 1000 + 4096));
    expect(decoders.every((decoder) => decoder.bufferedBytes === 1000)).toBe(true);
  });

  it("allocates a frame that is at least half here once, at its length", () => {
    const decoder = new LengthPrefixDecoder(64 * 1024);
    const frame = new Uint8Array(20_000).map((_, i) => i & 0xff);
    const whole = encodeLengthPrefixed([frame]);
    let got: Uint8Array | undefined;
    const before = process.memoryUsage().arrayBuffers;
    decoder.push(whole.subarray(0, 4 + 12_000), () => {});
    // The whole body at once (a buffer of what arrived would be 12,000 bytes, then another).
    expect(process.memoryUsage().arrayBuffers - before).toBe(20_000);
    decoder.push(whole.subarray(4 + 12_000), (f) => {
      got = f;
    });
    expect(got).toEqual(frame);
    expect(got?.buffer.byteLength).toBe(20_000);
  });

  it("accumulates a frame that spans reads in one buffer, grown as its bytes arrive", () => {
    const length = 1024 * 1024;
    const decoder = new LengthPrefixDecoder(length);
    decoder.push(lengthPrefix(length), () => {});
    for (let i = 0; i < 10_000; i++) decoder.push(bytes(i & 0xff), () => {});
    expect(decoder.bufferedBytes).toBe(10_000);
    let frame: Uint8Array | undefined;
    decoder.push(new Uint8Array(length - 10_000), (f) => {
      frame = f;
    });
    expect(frame?.byteLength).toBe(length);
    expect(frame?.[9_999]).toBe(9_999 & 0xff);
    expect(decoder.hasPartialFrame).toBe(false);
  });
});

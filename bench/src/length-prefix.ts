/**
 * bench/length-prefix: frames per second out of a byte stream. Tether's LengthPrefixDecoder
 * against a baseline in the same run: the straightforward decoder that cuts each 4-byte header
 * out as a view and reads it through a DataView (what Tether did before 2026-11-22).
 * Input: 600 frames of 100 bytes in one 62 KiB chunk, fed 2,000 times per pass.
 */
import { encodeLengthPrefixed, LengthPrefixDecoder } from "@tether/core";
import { fmt, median } from "./stats.js";

const PASSES = 7;
const frames = Array.from({ length: 600 }, () => Buffer.alloc(100, 3));
const chunk = Buffer.from(encodeLengthPrefixed(frames));

/** The baseline: header and body both cut out as views (single-chunk input only). */
function viewsDecoder(): (chunk: Buffer, onFrame: (frame: Uint8Array) => void) => void {
  return (data, onFrame) => {
    let at = 0;
    while (at + 4 <= data.byteLength) {
      const header = data.subarray(at, at + 4);
      const length = new DataView(header.buffer, header.byteOffset, 4).getUint32(0);
      onFrame(data.subarray(at + 4, at + 4 + length));
      at += 4 + length;
    }
  };
}

function nsPerFrame(push: (chunk: Buffer, onFrame: (frame: Uint8Array) => void) => void): number {
  const runs: number[] = [];
  for (let pass = 0; pass < PASSES; pass++) {
    let n = 0;
    const count = () => {
      n++;
    };
    const start = performance.now();
    for (let i = 0; i < 2000; i++) push(chunk, count);
    runs.push(((performance.now() - start) * 1e6) / n);
  }
  return median(runs);
}

const decoder = new LengthPrefixDecoder(1 << 20);
const tether = nsPerFrame((data, onFrame) => decoder.push(data, onFrame));
const baseline = nsPerFrame(viewsDecoder());
console.log(`length-prefix: 600 x 100 B frames per 62 KiB chunk, median of ${PASSES} passes`);
console.log(`tether LengthPrefixDecoder: ${fmt(tether)} ns/frame`);
console.log(`views + DataView baseline:  ${fmt(baseline)} ns/frame`);
console.log(`tether / baseline time: ${fmt((100 * tether) / baseline)}%`);

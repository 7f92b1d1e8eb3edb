import { describe, expect, it } from "vitest";
import { KeptFramePool } from "../src/session/kept-frame-pool.js";

const frameOf = (bytes: number, fill: number) => new Uint8Array(bytes).fill(fill);

describe("KeptFramePool", () => {
  it("copies a frame into memory of its own", () => {
    const pool = new KeptFramePool();
    const frame = frameOf(100, 7);
    const copy = pool.copy(frame);
    frame.fill(1);
    expect(copy).toEqual(frameOf(100, 7));
    expect(copy.buffer).not.toBe(frame.buffer);
  });

  it("reuses a released buffer for the next copy of about its size, wasting at most a quarter", () => {
    const pool = new KeptFramePool();
    const first = pool.copy(frameOf(16_404, 1));
    expect(first.buffer.byteLength).toBe(24 * 1024);
    const buffer = first.buffer;
    pool.release(first);
    expect(pool.freeBytes).toBe(24 * 1024);
    const second = pool.copy(frameOf(20_000, 2));
    expect(second.buffer === buffer).toBe(true);
    expect(Buffer.from(second).equals(Buffer.from(frameOf(20_000, 2)))).toBe(true);
    expect(pool.freeBytes).toBe(0);
    // Another size takes another buffer.
    expect(pool.copy(frameOf(100, 3)).buffer.byteLength).toBe(128);
    for (const [bytes, size] of [
      [1, 64],
      [64, 64],
      [65, 96],
      [96, 96],
      [97, 128],
      [200, 256],
      [300, 384],
    ]) {
      expect(pool.copy(frameOf(bytes as number, 0)).buffer.byteLength).toBe(size);
    }
  });

  it("keeps at most 8 MiB of released buffers, and none for frames over 256 KiB", () => {
    const pool = new KeptFramePool();
    const copies = Array.from({ length: 1000 }, () => pool.copy(frameOf(16 * 1024, 1)));
    for (const copy of copies) pool.release(copy);
    expect(pool.freeBytes).toBe(8 * 1024 * 1024);
    const large = pool.copy(frameOf(300 * 1024, 5));
    expect(large.buffer.byteLength).toBe(300 * 1024);
    pool.release(large);
    expect(pool.freeBytes).toBe(8 * 1024 * 1024);
  });
});

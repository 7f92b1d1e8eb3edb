import { describe, expect, it } from "vitest";
import { FramePool } from "../src/transport/frame-pool.js";

const frameOf = (bytes: number, fill: number) => new Uint8Array(bytes).fill(fill);

describe("FramePool", () => {
  it("copies a frame into memory of its own, a Buffer on Node (sockets take it as it is)", () => {
    const pool = new FramePool();
    const frame = frameOf(100, 7);
    const copy = pool.copy(frame);
    frame.fill(1);
    expect(copy).toBeInstanceOf(Buffer);
    expect(new Uint8Array(copy)).toEqual(frameOf(100, 7));
    expect(copy.buffer).not.toBe(frame.buffer);
  });

  it("reuses a released buffer for the next copy of about its size, wasting at most a quarter", () => {
    const pool = new FramePool();
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

  it("takes memory of a given size from a released buffer, as it was left", () => {
    const pool = new FramePool();
    const first = pool.copy(frameOf(1000, 9));
    pool.release(first);
    const taken = pool.take(900);
    expect(taken.byteLength).toBe(900);
    expect(taken.buffer === first.buffer).toBe(true);
    expect(taken[0]).toBe(9); // not zeroed: the taker writes all of it
    expect(pool.take(300 * 1024).buffer.byteLength).toBe(300 * 1024);
  });

  it("keeps at most 8 MiB of released buffers, and none for frames over 256 KiB", () => {
    const pool = new FramePool();
    const copies = Array.from({ length: 1000 }, () => pool.copy(frameOf(16 * 1024, 1)));
    for (const copy of copies) pool.release(copy);
    expect(pool.freeBytes).toBe(8 * 1024 * 1024);
    const large = pool.copy(frameOf(300 * 1024, 5));
    expect(large.buffer.byteLength).toBe(300 * 1024);
    pool.release(large);
    expect(pool.freeBytes).toBe(8 * 1024 * 1024);
  });

  it("lists again only buffers of the sizes it hands out", () => {
    const pool = new FramePool();
    pool.release(new Uint8Array(new ArrayBuffer(300 * 1024), 0, 1000)); // a frame's own buffer
    pool.release(new Uint8Array(new ArrayBuffer(5000), 0, 1000)); // not a size it hands out
    expect(pool.freeBytes).toBe(0);
    pool.release(pool.take(5000));
    expect(pool.freeBytes).toBe(6 * 1024);
  });

  it("tells its own memory from any other", () => {
    const pool = new FramePool();
    const taken = pool.take(2000);
    expect(pool.owns(taken)).toBe(true);
    expect(pool.owns(taken.subarray(10, 20))).toBe(true);
    expect(pool.owns(new Uint8Array(2000))).toBe(false);
    expect(new FramePool().owns(taken)).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import { decodeFrame, encodeFrame, encodeFrameForTurn } from "../src/channel/msgpack-codec.js";
import { takeForTurn } from "../src/channel/turn-memory.js";

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const largeMessage = (fill: string) => [6, 1, fill.repeat(16 * 1024), 0];

describe("memory for a turn", () => {
  it("is the taker's own within the turn, and reused once the turn has ended", async () => {
    await nextTurn(); // a turn of this test's own
    const first = takeForTurn(16 * 1024) as Uint8Array;
    const second = takeForTurn(16 * 1024) as Uint8Array;
    expect(first.buffer).not.toBe(second.buffer);
    await nextTurn();
    const later = takeForTurn(16 * 1024) as Uint8Array;
    expect([first.buffer, second.buffer]).toContain(later.buffer);
  });

  it("is bounded in bytes per turn: past 4 MiB the caller allocates, until the turn ends", async () => {
    await nextTurn();
    let given = 0;
    while (takeForTurn(64 * 1024) !== undefined && given < 1000) given++;
    expect(given).toBe(64); // 4 MiB of 64 KiB frames
    expect(takeForTurn(1024 * 1024)).toBeUndefined();
    await nextTurn();
    expect(takeForTurn(64 * 1024)).toBeInstanceOf(Uint8Array);
  });

  it("is not given for a frame too large to pool", () => {
    expect(takeForTurn(256 * 1024 + 1)).toBeUndefined();
  });

  it("holds a large frame encoded for the turn, and a frame from encodeFrame is never reused", async () => {
    await nextTurn();
    const kept = encodeFrame(largeMessage("k"));
    const sent = encodeFrameForTurn(largeMessage("a"));
    expect(decodeFrame(sent)).toEqual(largeMessage("a"));
    await nextTurn();
    const next = encodeFrameForTurn(largeMessage("b"));
    expect(next.buffer).toBe(sent.buffer); // the sent frame's memory, reused
    expect(decodeFrame(next)).toEqual(largeMessage("b"));
    expect(next.buffer).not.toBe(kept.buffer);
    expect(decodeFrame(kept)).toEqual(largeMessage("k"));
  });
});

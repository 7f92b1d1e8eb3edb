import { describe, expect, it } from "vitest";
import { MESSAGE_TARGET_BYTES, MessageFraming } from "../src/message-framing.js";

const frame = (size: number, fill: number) => new Uint8Array(size).fill(fill);

/** Every frame the messages carry, in order. */
function decodeAll(framing: MessageFraming, messages: Uint8Array[]): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (const message of messages) framing.decode(message, (f) => frames.push(f));
  return frames;
}

describe("MessageFraming", () => {
  it("puts the small frames of one flush in one message", () => {
    const framing = new MessageFraming(1024 * 1024);
    const sent = [frame(100, 1), frame(0, 2), frame(300, 3)];
    for (const f of sent) framing.add(f);
    const messages = framing.flush();
    expect(messages).toHaveLength(1);
    expect(messages[0]?.byteLength).toBe(100 + 0 + 300 + 3 * 4);
    expect(decodeAll(new MessageFraming(1024 * 1024), messages)).toEqual(sent);
    expect(framing.pendingBytes).toBe(0);
  });

  it("fills messages up to the target size, and sends a larger frame alone", () => {
    const framing = new MessageFraming(1024 * 1024);
    const sent = [
      ...Array.from({ length: 10 }, (_, i) => frame(16 * 1024, i)), // 16 KiB + 4 each
      frame(200 * 1024, 99), // over the target: a message of its own
      frame(10, 100),
    ];
    for (const f of sent) framing.add(f);
    const messages = framing.flush();
    const sizes = messages.map((m) => m.byteLength);
    // Three 16 KiB frames fit in 64 KiB with their headers, a fourth does not.
    expect(sizes).toEqual([
      3 * (16 * 1024 + 4),
      3 * (16 * 1024 + 4),
      3 * (16 * 1024 + 4),
      16 * 1024 + 4,
      200 * 1024 + 4,
      10 + 4,
    ]);
    for (const size of sizes.filter((s) => s !== 200 * 1024 + 4))
      expect(size).toBeLessThanOrEqual(MESSAGE_TARGET_BYTES);
    expect(decodeAll(new MessageFraming(1024 * 1024), messages)).toEqual(sent);
  });

  it("never makes a message over maxFrameBytes + 4, whatever the target", () => {
    const framing = new MessageFraming(1000);
    for (let i = 0; i < 5; i++) framing.add(frame(600, i));
    const messages = framing.flush();
    expect(messages.map((m) => m.byteLength)).toEqual([604, 604, 604, 604, 604]);
  });
});

import { describe, expect, it } from "vitest";
import { encodeFrame, encodeFrameToKeep } from "../src/channel/msgpack-codec.js";
import { keepAnswer, releaseKept } from "../src/session/kept-answer.js";
import { MessageType } from "../src/session/protocol.js";
import type { ResponseMessage } from "../src/session/server-session.js";
import { keptFramePool } from "../src/transport/frame-pool.js";

type Answer = Extract<ResponseMessage, { type: typeof MessageType.Response }>;
const answer = (bytes: number): Answer => ({
  type: MessageType.Response,
  seq: 1,
  body: new Uint8Array(bytes).fill(3),
});
const frameOf = (response: Answer) => [response.type, response.seq, response.body];

describe("a kept answer", () => {
  it("is kept in the memory a large answer was encoded into, without a copy", () => {
    const response = answer(16 * 1024);
    const frame = encodeFrameToKeep(frameOf(response));
    expect(keptFramePool.owns(frame)).toBe(true);
    expect(keepAnswer(response, frame)).toBe(frame);
    releaseKept(frame);
  });

  it("is a copy in the pool's memory when the frame is in an encoder's shared buffer", () => {
    const response = answer(2000);
    const frame = encodeFrame(frameOf(response));
    expect(keptFramePool.owns(frame)).toBe(false);
    const kept = keepAnswer(response, frame) as Uint8Array;
    expect(kept).not.toBe(frame);
    expect(keptFramePool.owns(kept)).toBe(true);
    expect(Buffer.from(kept).equals(Buffer.from(frame))).toBe(true);
  });

  it("is its message when small", () => {
    const response = answer(10);
    expect(keepAnswer(response, encodeFrameToKeep(frameOf(response)))).toEqual({
      message: response,
      bytes: expect.any(Number),
    });
  });
});

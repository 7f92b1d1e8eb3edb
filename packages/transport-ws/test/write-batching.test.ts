import { type Connection, encodeLengthPrefixed, LengthPrefixDecoder } from "@tether/core";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { webSocket } from "../src/index.js";

// How answers leave a WebSocket connection: those made while one message is handled leave in
// one message on the next tick, and a large message sends its first answers early.

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server connection and a raw `ws` client connected to it. */
async function connected() {
  const accepted: Connection[] = [];
  const listener = await webSocket().listen("127.0.0.1:0", (c) => accepted.push(c));
  cleanups.push(() => listener.close());
  const ws = new WebSocket(listener.address);
  await new Promise((resolve) => ws.once("open", resolve));
  cleanups.push(() => ws.terminate());
  for (let i = 0; i < 100 && accepted.length === 0; i++) await new Promise((r) => setTimeout(r, 1));
  return { server: accepted[0] as Connection, ws };
}

/** A server connection answering every frame (with 100 bytes), and the raw client's messages. */
async function answering(answerBytes = 100) {
  const { server, ws } = await connected();
  server.on("frame", () => server.send(new Uint8Array(answerBytes)));
  const messages: number[] = [];
  ws.on("message", (data) => messages.push((data as Buffer).byteLength));
  const receivedBytes = async (n: number) => {
    for (let i = 0; i < 200 && messages.reduce((a, b) => a + b, 0) < n; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    return messages;
  };
  const requests = (count: number) =>
    ws.send(encodeLengthPrefixed(Array.from({ length: count }, () => new Uint8Array(96))));
  return { requests, receivedBytes };
}

describe("ws write batching", () => {
  it("a message of 4 KiB or more sends its first answers once they reach 2 KiB, the rest on the next tick", async () => {
    const { requests, receivedBytes } = await answering();
    requests(64); // 6,400 bytes
    expect(await receivedBytes(64 * 104)).toEqual([20 * 104, 44 * 104]);
  });

  it("a large message whose answers are 2 KiB or more is answered in one flush", async () => {
    const { requests, receivedBytes } = await answering(3000);
    requests(64);
    // One flush, cut into messages of up to 64 KiB (21 answers each): no early message.
    expect(await receivedBytes(64 * 3004)).toEqual([21 * 3004, 21 * 3004, 21 * 3004, 3004]);
  });

  it("a smaller message is answered in one message", async () => {
    const { requests, receivedBytes } = await answering();
    requests(30); // 3,000 bytes
    expect(await receivedBytes(30 * 104)).toEqual([30 * 104]);
  });
});

describe("ws message memory", () => {
  it("is reused only once ws has written a message: frames queued behind a reader that stopped arrive intact", async () => {
    const { server, ws } = await connected();
    ws.pause(); // the client stops reading: what the kernel cannot take waits in the server

    // 24 MiB, more than loopback's socket buffers hold, in ticks of three 16 KiB frames (one
    // message each tick), frame i filled with i: a message's memory reused too early would
    // overwrite one still waiting to be written.
    const FRAMES = 1536;
    const frameOf = (i: number) => new Uint8Array(16 * 1024).fill(i & 0xff);
    for (let i = 0; i < FRAMES; i += 3) {
      for (let j = i; j < i + 3; j++) server.send(frameOf(j));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(server.bufferedAmount).toBeGreaterThan(0);

    let received = 0;
    const wrong: number[] = [];
    const decoder = new LengthPrefixDecoder(1024 * 1024);
    ws.on("message", (data) =>
      decoder.push(data as Buffer, (frame) => {
        if (frame.some((byte) => byte !== (received & 0xff))) wrong.push(received);
        received++;
      }),
    );
    ws.resume();
    for (let i = 0; i < 400 && received < FRAMES; i++) await new Promise((r) => setTimeout(r, 5));
    expect(received).toBe(FRAMES);
    expect(wrong).toEqual([]);
  });
});

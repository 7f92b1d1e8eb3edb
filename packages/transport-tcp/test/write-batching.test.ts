import * as net from "node:net";
import { encodeLengthPrefixed, LengthPrefixDecoder } from "@tether/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type TcpConnection, tcp } from "../src/index.js";

// How frames leave a TCP connection: what one read makes goes out in one write when the read
// ends, what is sent at other times in one write on the next tick, and large frames are copied
// into a chunk that leaves with them. Counted at `net.Socket#write` of the server's socket.

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function pair() {
  const accepted: TcpConnection[] = [];
  const listener = await tcp().listen("127.0.0.1:0", (c) => accepted.push(c as TcpConnection));
  cleanups.push(() => listener.close());
  const [host, port] = listener.address.split(":") as [string, string];
  const client = net.connect(Number(port), host);
  client.on("error", () => {});
  await new Promise((resolve) => client.once("connect", resolve));
  cleanups.push(() => client.destroy());
  for (let i = 0; i < 100 && accepted.length === 0; i++) await new Promise((r) => setTimeout(r, 1));
  const server = accepted[0] as TcpConnection;
  // Writes made by the server's socket (the client's own are not counted).
  const writes: Uint8Array[] = [];
  const write = net.Socket.prototype.write;
  vi.spyOn(net.Socket.prototype, "write").mockImplementation(function (this: net.Socket, ...args) {
    if (this.localPort === client.remotePort && this.remotePort === client.localPort)
      writes.push(args[0] as Uint8Array);
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  });
  // Frames as the client receives them.
  const received: Uint8Array[] = [];
  const decoder = new LengthPrefixDecoder(1 << 20);
  client.on("data", (chunk) => decoder.push(chunk, (frame) => received.push(Buffer.from(frame))));
  const receivedCount = async (n: number) => {
    for (let i = 0; i < 400 && received.length < n; i++) await new Promise((r) => setTimeout(r, 5));
    return received;
  };
  return { client, server, writes, receivedCount };
}

const frame = (n: number, size = 16) => new Uint8Array(size).fill(n);
describe("tcp write batching", () => {
  it("what one read makes leaves in one write when the read ends", async () => {
    const { client, server, writes, receivedCount } = await pair();
    server.on("frame", () => {
      for (let i = 0; i < 10; i++) server.send(frame(i));
    });
    client.write(encodeLengthPrefixed([frame(99)]));
    const received = await receivedCount(10);
    expect(received.map((f) => f[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(writes).toHaveLength(1);
    expect(writes[0]?.byteLength).toBe(10 * (4 + 16));
  });

  it("a read of 4 KiB or more sends its first answers once they reach 2 KiB, the rest when it ends", async () => {
    const { client, server, writes, receivedCount } = await pair();
    let answered = 0;
    let writesMidRead = -1;
    server.on("frame", () => {
      server.send(frame(answered++, 100)); // 104 bytes with its header: the 20th passes 2 KiB
      if (answered === 25) writesMidRead = writes.length;
    });
    // 64 requests of 96 bytes in one write: one read of 6,400 bytes.
    client.write(encodeLengthPrefixed(Array.from({ length: 64 }, (_, i) => frame(i, 96))));
    const received = await receivedCount(64);
    expect(received.map((f) => f[0])).toEqual(Array.from({ length: 64 }, (_, i) => i));
    expect(writesMidRead).toBe(1); // mid-read: the first 20 are gone
    expect(writes.map((w) => w.byteLength)).toEqual([20 * 104, 44 * 104]);
  });

  it("a large read whose answers are 2 KiB or more still answers in one write", async () => {
    const { client, server, writes, receivedCount } = await pair();
    server.on("frame", () => server.send(frame(1, 3000)));
    client.write(encodeLengthPrefixed(Array.from({ length: 3 }, (_, i) => frame(i, 2000)))); // 6,012 bytes
    await receivedCount(3);
    expect(writes.map((w) => w.byteLength)).toEqual([3 * 3004]);
  });

  it("a smaller read still answers in one write", async () => {
    const { client, server, writes, receivedCount } = await pair();
    server.on("frame", () => server.send(frame(1, 100)));
    client.write(encodeLengthPrefixed(Array.from({ length: 30 }, (_, i) => frame(i, 96)))); // 3,000 bytes
    await receivedCount(30);
    expect(writes.map((w) => w.byteLength)).toEqual([30 * 104]);
  });

  it("what is sent outside a read leaves in one write on the next tick", async () => {
    const { server, writes, receivedCount } = await pair();
    setTimeout(() => {
      for (let i = 0; i < 5; i++) server.send(frame(i));
      expect(writes).toHaveLength(0); // not yet: on the next tick
    }, 1);
    expect((await receivedCount(5)).map((f) => f[0])).toEqual([0, 1, 2, 3, 4]);
    expect(writes).toHaveLength(1);
  });

  it("a large frame is copied in behind the small ones, and what the tick sends after it joins the same write", async () => {
    const { server, writes, receivedCount } = await pair();
    const large = frame(7, 32 * 1024);
    setTimeout(() => {
      server.send(frame(1));
      server.send(large);
      server.send(frame(2));
    }, 1);
    const received = await receivedCount(3);
    expect(received.map((f) => [f[0], f.byteLength])).toEqual([
      [1, 16],
      [7, 32 * 1024],
      [2, 16],
    ]);
    // One write, copied: the sender may reuse the large frame's memory once the turn ends.
    expect(writes.map((w) => w.byteLength)).toEqual([4 + 16 + 4 + 32 * 1024 + 4 + 16]);
    expect(writes[0]?.buffer).not.toBe(large.buffer);
  });

  it("large frames of one read leave in one write when it ends, and a chunk that fills leaves at once", async () => {
    const { client, server, writes, receivedCount } = await pair();
    const LARGE = 32 * 1024;
    server.on("frame", (request) => {
      for (let i = 0; i < (request[0] as number); i++) server.send(frame(i, LARGE));
    });
    client.write(encodeLengthPrefixed([frame(3)]));
    await receivedCount(3);
    // Three fit in a 128 KiB chunk; of five, the fourth finds it full.
    client.write(encodeLengthPrefixed([frame(5)]));
    const received = await receivedCount(8);
    expect(received.map((f) => [f[0], f.byteLength])).toEqual(
      [0, 1, 2, 0, 1, 2, 3, 4].map((n) => [n, LARGE]),
    );
    expect(writes.map((w) => w.byteLength)).toEqual([3, 3, 2].map((n) => n * (4 + LARGE)));
  });
});

describe("tcp batch memory", () => {
  it("is reused only once the socket has written a batch: frames queued behind a reader that stopped arrive intact", async () => {
    const { client, server, receivedCount } = await pair();
    client.pause(); // what the kernel cannot take waits in the server's socket
    // 24 MiB, more than loopback's socket buffers hold, in batches of six 8 KiB frames (one
    // pooled write each tick), frame i filled with i: a batch's memory reused too early would
    // overwrite one still waiting to be written.
    const FRAMES = 3072;
    for (let i = 0; i < FRAMES; i += 6) {
      for (let j = i; j < i + 6; j++) server.send(frame(j & 0xff, 8 * 1024));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(server.bufferedAmount).toBeGreaterThan(0);
    client.resume();
    const received = await receivedCount(FRAMES);
    expect(received).toHaveLength(FRAMES);
    const wrong = received.flatMap((f, i) => (f.some((byte) => byte !== (i & 0xff)) ? [i] : []));
    expect(wrong).toEqual([]);
  });
});

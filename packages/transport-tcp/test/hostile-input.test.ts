import { randomBytes } from "node:crypto";
import * as net from "node:net";
import { type CloseInfo, FrameTooLargeError, ProtocolError } from "@tether/core";
import { afterEach, describe, expect, it } from "vitest";
import { type TcpConnection, tcp } from "../src/index.js";

const MAX = 4096;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A Tether TCP listener, and a raw socket to it that can write anything. */
async function rawPeer() {
  const accepted: TcpConnection[] = [];
  const listener = await tcp({ maxFrameBytes: MAX }).listen("127.0.0.1:0", (c) =>
    accepted.push(c as TcpConnection),
  );
  cleanups.push(() => listener.close());
  const [host, port] = listener.address.split(":") as [string, string];
  const connect = async () => {
    const socket = net.connect(Number(port), host);
    socket.on("error", () => {});
    await new Promise((resolve) => socket.once("connect", resolve));
    cleanups.push(() => socket.destroy());
    while (accepted.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    return { socket, server: accepted.shift() as TcpConnection };
  };
  return { listener, connect };
}

function header(length: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(length);
  return b;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("tcp transport against hostile input", () => {
  it("closes a connection whose length header exceeds maxFrameBytes, before reading its body", async () => {
    const { connect } = await rawPeer();
    const { socket, server } = await connect();
    socket.write(header(0xffffffff));
    const info: CloseInfo = await server.closed;
    expect(info.error).toBeInstanceOf(FrameTooLargeError);
    expect((info.error as FrameTooLargeError).length).toBe(0xffffffff);
    expect(server.inboundBufferedBytes).toBe(0);
  });

  it("holds at most maxFrameBytes plus one read for a frame that never completes", async () => {
    const { connect } = await rawPeer();
    const { socket, server } = await connect();
    socket.write(header(MAX));
    socket.write(randomBytes(MAX - 1));
    await sleep(30);
    expect(server.status).toBe("open");
    expect(server.inboundBufferedBytes).toBe(MAX - 1);
    expect(server.inboundBufferedBytes).toBeLessThanOrEqual(MAX);
  });

  it("keeps a connection that sent a header and went silent open, holding nothing", async () => {
    const { connect } = await rawPeer();
    const { socket, server } = await connect();
    const frames: Uint8Array[] = [];
    server.on("frame", (f) => frames.push(f));
    socket.write(header(100));
    await sleep(30);
    expect(frames).toEqual([]);
    expect(server.status).toBe("open");
    expect(server.inboundBufferedBytes).toBe(0);
  });

  it("reports a stream cut inside a frame as a ProtocolError close", async () => {
    const { connect } = await rawPeer();
    const { socket, server } = await connect();
    socket.end(Buffer.concat([header(10), Buffer.from("abc")]));
    const info = await server.closed;
    expect(info.error).toBeInstanceOf(ProtocolError);
  });

  it("survives random garbage on many connections while a good one keeps working", async () => {
    const accepted: TcpConnection[] = [];
    const listener = await tcp({ maxFrameBytes: MAX }).listen("127.0.0.1:0", (c) => {
      accepted.push(c as TcpConnection);
      c.on("frame", (f) => c.send(f));
    });
    cleanups.push(() => listener.close());
    const good = await tcp({ maxFrameBytes: MAX }).dial(listener.address);
    cleanups.push(() => good.abort());
    const [host, port] = listener.address.split(":") as [string, string];
    for (let i = 0; i < 40; i++) {
      const socket = net.connect(Number(port), host);
      socket.on("error", () => {});
      cleanups.push(() => socket.destroy());
      socket.end(randomBytes(64 + i * 97));
    }
    while (accepted.length < 41) await sleep(2);
    const garbage = accepted.slice(1);
    await Promise.all(garbage.map((c) => c.closed));
    for (const c of garbage) expect(c.inboundBufferedBytes).toBeLessThanOrEqual(MAX + 64 * 1024);
    expect(accepted[0]?.status).toBe("open");
    const reply = new Promise<Uint8Array>((resolve) => good.once("frame", resolve));
    good.send(Buffer.from("still here"));
    expect(Buffer.from(await reply).toString()).toBe("still here");
  });
});

describe("tcp transport batching", () => {
  it("sends the frames of one tick in one write", async () => {
    const chunks: Buffer[] = [];
    const server = net.createServer((socket) => {
      socket.on("error", () => {});
      socket.on("data", (chunk) => chunks.push(chunk));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const { port } = server.address() as net.AddressInfo;
    const client = await tcp().dial(`127.0.0.1:${port}`);
    cleanups.push(() => client.abort());
    for (let i = 0; i < 200; i++) client.send(Buffer.alloc(20, i));
    await sleep(50);
    const total = chunks.reduce((n, c) => n + c.byteLength, 0);
    expect(total).toBe(200 * 24);
    expect(chunks.length).toBe(1);
  });
});

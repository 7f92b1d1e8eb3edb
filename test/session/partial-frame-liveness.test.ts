// Every byte that arrives is proof of life (docs/PROTOCOL.md, "Liveness"): a large frame on a
// slow link keeps the client's connection and the server's session alive while it crosses.
// Real TCP on loopback through a throttling proxy; T = 3 s, so each test takes about 4 s.
import * as net from "node:net";
import {
  createClient,
  createServer,
  encodeFrame,
  LENGTH_PREFIX_BYTES,
  ManualClock,
  MessageType,
  PROTOCOL_VERSION,
  type Transport,
} from "@tether/core";
import { createMemoryNetwork } from "@tether/transport-memory";
import { tcp } from "@tether/transport-tcp";
import { webSocket } from "@tether/transport-ws";
import { afterEach, describe, expect, it } from "vitest";
import { closeOnClock } from "../support/close-on-clock.js";
import { slowProxy } from "../support/slow-proxy.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const T = 3000;
const BIG = 900 * 1024;
/** 900 KiB at 256 KiB/s: about 3.5 s, longer than 2T/3 and than T. */
const RATE = 256 * 1024;

describe("partial frames count as proof of life (TCP)", () => {
  it("a large answer over a slow link does not cost the client its connection", async () => {
    const server = createServer({ tickTime: 250 });
    server.handle("big", () => new Uint8Array(BIG));
    const listener = await server.listen(tcp(), "127.0.0.1:0");
    cleanups.push(() => server.close());
    const proxy = await slowProxy(listener.address, "to-client", RATE);
    cleanups.push(() => proxy.close());
    const client = createClient({ servers: [{ transport: tcp(), address: proxy.address }], timeout: T });
    const states: string[] = [];
    client.on("state", (state) => states.push(state));
    cleanups.push(() => client.close());
    await client.connected();
    const started = performance.now();
    const answer = (await client.request("big", null, { timeout: 10_000 })) as Uint8Array;
    expect(answer.byteLength).toBe(BIG);
    expect(performance.now() - started).toBeGreaterThan((2 * T) / 3); // it really was slow
    expect(states).toEqual(["connected"]); // never dropped, never resumed
    expect(server.metrics().sessionsResumed).toBe(0);
  }, 20_000);

  it("a large request over a slow link does not expire its session on the server", async () => {
    const server = createServer({ tickTime: 250, minSessionTimeout: 1000 });
    server.handle("big", (body) => (body as Uint8Array).byteLength);
    const expired: string[] = [];
    server.on("expire", (_session, reason) => expired.push(reason));
    const listener = await server.listen(tcp(), "127.0.0.1:0");
    cleanups.push(() => server.close());
    const proxy = await slowProxy(listener.address, "to-server", RATE);
    cleanups.push(() => proxy.close());
    // A raw peer: Hello, then one 900 KiB request trickling through the proxy, nothing else.
    const [host, port] = proxy.address.split(":") as [string, string];
    const socket = net.connect({ host, port: Number(port) });
    cleanups.push(() => {
      socket.destroy();
    });
    const frames: Buffer[] = [];
    let inbound = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      inbound = Buffer.concat([inbound, chunk]);
      while (
        inbound.length >= LENGTH_PREFIX_BYTES &&
        inbound.length >= LENGTH_PREFIX_BYTES + inbound.readUInt32BE(0)
      ) {
        const length = inbound.readUInt32BE(0);
        frames.push(inbound.subarray(LENGTH_PREFIX_BYTES, LENGTH_PREFIX_BYTES + length));
        inbound = inbound.subarray(LENGTH_PREFIX_BYTES + length);
      }
    });
    await new Promise((resolve) => socket.once("connect", resolve));
    const framed = (value: unknown) => {
      const frame = encodeFrame(value);
      const header = Buffer.alloc(LENGTH_PREFIX_BYTES);
      header.writeUInt32BE(frame.byteLength);
      return Buffer.concat([header, frame]);
    };
    socket.write(framed([MessageType.Hello, PROTOCOL_VERSION, T, null, null, 0, null]));
    const until = performance.now() + 10_000;
    const has = (type: number) => frames.some((f) => (encodeFrameType(f) ?? -1) === type);
    while (!has(MessageType.Welcome) && performance.now() < until)
      await new Promise((r) => setTimeout(r, 20));
    socket.write(framed([MessageType.Request, 1, "big", new Uint8Array(BIG), 0, 1]));
    while (!has(MessageType.Response) && !has(MessageType.Goodbye) && performance.now() < until)
      await new Promise((r) => setTimeout(r, 20));
    expect(has(MessageType.Response)).toBe(true);
    expect(expired).toEqual([]);
  }, 20_000);
});

describe("partial frames count as proof of life (WebSocket)", () => {
  async function throughSlowProxy(direction: "to-client" | "to-server") {
    const server = createServer({ tickTime: 250, minSessionTimeout: 1000 });
    server.handle("big", (body) => (body === null ? new Uint8Array(BIG) : (body as Uint8Array).byteLength));
    const expired: string[] = [];
    server.on("expire", (_session, reason) => expired.push(reason));
    const listener = await server.listen(webSocket(), "127.0.0.1:0");
    cleanups.push(() => server.close());
    const target = new URL(listener.address);
    const proxy = await slowProxy(target.host, direction, RATE);
    cleanups.push(() => proxy.close());
    const client = createClient({
      servers: [{ transport: webSocket(), address: `ws://${proxy.address}${target.pathname}` }],
      timeout: T,
    });
    const states: string[] = [];
    client.on("state", (state) => states.push(state));
    cleanups.push(() => client.close());
    await client.connected();
    return { client, states, expired, server };
  }

  it("a large answer over a slow link does not cost the client its connection", async () => {
    const { client, states, server } = await throughSlowProxy("to-client");
    const started = performance.now();
    const answer = (await client.request("big", null, { timeout: 10_000 })) as Uint8Array;
    expect(answer.byteLength).toBe(BIG);
    expect(performance.now() - started).toBeGreaterThan((2 * T) / 3);
    expect(states).toEqual(["connected"]);
    expect(server.metrics().sessionsResumed).toBe(0);
  }, 20_000);

  it("a large request over a slow link keeps its session and its connection", async () => {
    const { client, states, expired } = await throughSlowProxy("to-server");
    const started = performance.now();
    expect(await client.request("big", new Uint8Array(BIG), { timeout: 10_000 })).toBe(BIG);
    expect(performance.now() - started).toBeGreaterThan((2 * T) / 3);
    expect(states).toEqual(["connected"]);
    expect(expired).toEqual([]);
  }, 20_000);
});

/** The message type of an encoded frame: its first array element (a fixint). */
function encodeFrameType(frame: Buffer): number | undefined {
  return frame[0] !== undefined && (frame[0] & 0xf0) === 0x90 ? frame[1] : undefined;
}

describe("partial frames count as proof of life (memory transport with a bandwidth limit, ManualClock)", () => {
  async function slowLink() {
    const clock = new ManualClock();
    const network = createMemoryNetwork({ clock });
    const server = createServer({ clock, tickTime: 250 });
    server.handle("big", (body) => (body === null ? new Uint8Array(BIG) : (body as Uint8Array).byteLength));
    const expired: string[] = [];
    server.on("expire", (_session, reason) => expired.push(reason));
    await server.listen(network.transport(), "server");
    const slow: Transport = {
      name: "memory",
      listen: (address, onConnection) => network.transport().listen(address, onConnection),
      async dial(address, options) {
        const connection = await network.transport().dial(address, options);
        for (const link of network.links()) link.setBandwidth(RATE);
        return connection;
      },
    };
    const client = createClient({ servers: [{ transport: slow, address: "server" }], clock, timeout: T });
    const states: string[] = [];
    client.on("state", (state) => states.push(state));
    cleanups.push(() => closeOnClock(clock, client, server));
    for (let i = 0; i < 20; i++) await clock.advanceAsync(10);
    await client.connected();
    return { clock, client, states, expired, server };
  }

  it("a 900 KiB answer at 256 KiB/s keeps the client connected", async () => {
    const { clock, client, states } = await slowLink();
    const started = clock.now();
    const answer = client.request("big", null);
    for (let i = 0; i < 100 && states.length === 1 && clock.now() - started < 5000; i++)
      await clock.advanceAsync(50);
    expect(((await answer) as Uint8Array).byteLength).toBe(BIG);
    expect(clock.now() - started).toBeGreaterThan((2 * T) / 3);
    expect(states).toEqual(["connected"]);
  });

  it("a 900 KiB request at 256 KiB/s keeps its session on the server", async () => {
    const { clock, client, expired } = await slowLink();
    const started = clock.now();
    const answer = client.request("big", new Uint8Array(BIG));
    let size: unknown;
    void answer.then((value) => {
      size = value;
    });
    for (let i = 0; i < 200 && size === undefined; i++) await clock.advanceAsync(50);
    expect(size).toBe(BIG);
    expect(clock.now() - started).toBeGreaterThan(T);
    expect(expired).toEqual([]);
  });
});

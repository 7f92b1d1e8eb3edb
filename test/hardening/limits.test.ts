import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CloseCode,
  type Connection,
  createClient,
  createServer,
  ManualClock,
  MessageType,
  type ServerOptions,
  type TetherServer,
} from "@tether/core";
import { createMemoryNetwork, type MemoryNetwork } from "@tether/transport-memory";
import { tcp } from "@tether/transport-tcp";
import { webSocket } from "@tether/transport-ws";
import { afterEach, describe, expect, it } from "vitest";
import { RawSession } from "../support/raw-session.js";

let clock: ManualClock;
let network: MemoryNetwork;
let server: TetherServer;
const raws: RawSession[] = [];

async function start(options: ServerOptions = {}) {
  clock = new ManualClock();
  network = createMemoryNetwork({ clock });
  server = createServer({ clock, tickTime: 1000, ...options });
  await server.listen(network.transport(), "server");
}

async function raw(from = "anyone"): Promise<RawSession> {
  const r = await RawSession.dial(network.transport({ address: from }), "server");
  raws.push(r);
  return r;
}

const tick = () => clock.advanceAsync(0);

afterEach(async () => {
  for (const r of raws.splice(0)) r.connection.abort();
  let done = false;
  const closing = server?.close().finally(() => {
    done = true;
  });
  for (let i = 0; i < 50 && !done && closing !== undefined; i++) await clock.advanceAsync(1000);
  await closing;
});

describe("connection limits", () => {
  it("closes a connection that opens no session within the handshake deadline (4005)", async () => {
    await start({ handshakeTimeout: 3000 });
    const r = await raw();
    await clock.advanceAsync(2999);
    expect(r.received).toEqual([]);
    await clock.advanceAsync(1);
    await r.waitFor((m) => m[0] === MessageType.Goodbye, tick);
    expect(r.goodbyeCode()).toBe(CloseCode.HandshakeTimeout);
    expect(server.metrics().goodbyes[CloseCode.HandshakeTimeout]).toBe(1);
  });

  it("reads a Hello that arrived while the loop stalled between the deadline and its hop", async () => {
    await start({ handshakeTimeout: 3000 });
    const r = await raw();
    clock.advance(2999);
    expect(clock.runNextTimer()).toBe(true); // the deadline at 3000, on time: it schedules its hop
    clock.stall(2000); // the loop blocks before the hop, while the Hello arrives
    clock.runNextTimer(); // timers first: the hop, 2 s late
    r.hello();
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve)); // then I/O
    await clock.advanceAsync(0);
    await r.waitFor((m) => m[0] === MessageType.Welcome || m[0] === MessageType.Goodbye, tick);
    expect(r.goodbyeCode()).toBeUndefined();
    expect(r.received.some((m) => m[0] === MessageType.Welcome)).toBe(true);
  });

  it("holds the handshake deadline while authentication (or the session store) has not answered", async () => {
    let opened = 0;
    await start({ handshakeTimeout: 3000, authenticate: () => new Promise(() => {}) });
    server.on("session", () => opened++);
    const r = await raw();
    r.hello();
    await clock.advanceAsync(2999);
    expect(r.received).toEqual([]);
    await clock.advanceAsync(1);
    await r.waitFor((m) => m[0] === MessageType.Goodbye, tick);
    expect(r.goodbyeCode()).toBe(CloseCode.HandshakeTimeout);
    expect(opened).toBe(0);
  });

  it("refuses connections over the per-address limit (4010), counting them, and admits others", async () => {
    await start({ maxConnectionsPerAddress: 2 });
    const first = await raw("mallory");
    await raw("mallory");
    const third = await raw("mallory");
    await third.waitFor((m) => m[0] === MessageType.Goodbye, tick);
    expect(third.goodbyeCode()).toBe(CloseCode.TooManyConnections);
    const other = await raw("alice");
    other.hello();
    await other.waitFor((m) => m[0] === MessageType.Welcome, tick);
    first.connection.abort();
    await tick();
    const fourth = await raw("mallory");
    fourth.hello();
    await fourth.waitFor((m) => m[0] === MessageType.Welcome, tick);
    expect(server.metrics().refusedPerAddress).toBe(1);
  });

  it("keys per-address limits by the transport's peer key: Unix-socket clients are not one address", async () => {
    const local = createServer({ tickTime: 1000, maxConnectionsPerAddress: 3, maxSessionsPerAddress: 3 });
    const path = join(mkdtempSync(join(tmpdir(), "tether-limits-")), "server.sock");
    await local.listen(tcp(), path);
    const clients = Array.from({ length: 5 }, () =>
      createClient({ servers: [{ transport: tcp(), address: path }], timeout: 4000 }),
    );
    try {
      const allConnected = Promise.all(clients.map((client) => client.connected()));
      const later = new Promise((resolve) => setTimeout(resolve, 3000, "not all connected"));
      expect(await Promise.race([allConnected.then(() => "all connected"), later])).toBe("all connected");
      expect(local.metrics().refusedPerAddress).toBe(0);
      expect(local.metrics().refusedSessions).toBe(0);
      expect(local.metrics().sessions).toBe(5);
    } finally {
      await Promise.all(clients.map((client) => client.close()));
      await local.close();
    }
  });

  it("refuses connections over the total limit", async () => {
    await start({ maxConnections: 2, maxConnectionsPerAddress: 0 });
    await raw("a");
    await raw("b");
    const third = await raw("c");
    await third.waitFor((m) => m[0] === MessageType.Goodbye, tick);
    expect(third.goodbyeCode()).toBe(CloseCode.TooManyConnections);
    expect(server.metrics().refusedTotal).toBe(1);
  });
});

describe("frame and buffer bounds", () => {
  it("counts connections closed for an oversized frame", async () => {
    await start();
    const r = await RawSession.dial(network.transport({ maxFrameBytes: 4 * 1024 * 1024 }), "server");
    raws.push(r);
    r.sendBytes(new Uint8Array(1024 * 1024 + 1));
    await r.connection.closed;
    await tick();
    expect(server.metrics().oversizedFrames).toBe(1);
  });

  it("ends a session whose unacknowledged responses outgrow maxResponses (4008)", async () => {
    await start({ maxResponses: 2 });
    server.handle("echo", (body) => body);
    const ended: string[] = [];
    server.on("expire", (_s, reason) => ended.push(reason));
    const r = await raw();
    r.hello();
    await r.waitFor((m) => m[0] === MessageType.Welcome, tick);
    // responseAck stays at 1: this peer never confirms an answer, so the cache only grows.
    for (let seq = 1; seq <= 3; seq++) r.send([MessageType.Request, seq, "echo", seq, 0, 1]);
    await r.waitFor((m) => m[0] === MessageType.Goodbye, tick);
    expect(r.goodbyeCode()).toBe(CloseCode.BufferOverflow);
    expect(r.received.filter((m) => m[0] === MessageType.Response).map((m) => m[2])).toEqual([1, 2]);
    expect(ended).toEqual(["buffer-overflow"]);
    expect(server.metrics().sessionsEnded["buffer-overflow"]).toBe(1);
  });
});

describe("outstanding requests per connection", () => {
  it("pauses reading above the limit and resumes below it: backpressure, not an error", async () => {
    await start({ maxInFlightPerConnection: 2 });
    const release: Array<() => void> = [];
    let started = 0;
    server.handle("hold", () => {
      started++;
      return new Promise<string>((resolve) => release.push(() => resolve("done")));
    });
    const client = createClient({
      servers: [{ transport: network.transport(), address: "server" }],
      timeout: 6000,
      clock,
    });
    await tick();
    const replies = Array.from({ length: 5 }, () => client.request("hold"));
    await tick();
    expect(started).toBe(2);
    expect(server.metrics().readPauses).toBe(1);
    release.shift()?.();
    await tick();
    expect(started).toBe(3);
    while (release.length > 0) {
      release.shift()?.();
      await tick();
    }
    expect(await Promise.all(replies)).toEqual(["done", "done", "done", "done", "done"]);
    expect(client.state).toBe("connected");
    await client.close();
  });
});

describe("slow consumers", () => {
  it.each([
    ["tcp", tcp],
    ["ws", webSocket],
  ] as const)(
    "over %s, a client that stops reading cannot grow the server's queue past the cap; its session survives",
    async (name, transport) => {
      const cap = 256 * 1024;
      const held: Connection[] = [];
      const real = createServer({
        maxOutboundBytes: cap,
        maxReplayBytes: 64 * 1024 * 1024, // the outbound cap is under test, not the replay bound
        tickTime: 1000,
        configurePipeline: (_pipeline, channel) => held.push(channel.connection),
      });
      try {
        const listener = await real.listen(transport(), "127.0.0.1:0");
        const reader = await RawSession.dial(transport(), listener.address);
        reader.hello({ timeout: 20_000 });
        await reader.waitFor((m) => m[0] === MessageType.Welcome);
        reader.connection.pause();
        const session = [...real.sessions()][0];
        const connection = held[0] as Connection;
        const body = new Uint8Array(64 * 1024);
        let peak = 0;
        let pushes = 0;
        // Bounded: 400 pushes of 64 KiB (25 MiB) at most; the kernel's buffers fill long before.
        for (; pushes < 400 && session?.connected; pushes++) {
          session.push("blob", body);
          if (connection.status === "open") peak = Math.max(peak, connection.bufferedAmount);
          await new Promise((resolve) => setImmediate(resolve));
        }
        expect(session?.connected).toBe(false);
        expect(connection.status).not.toBe("open");
        expect(real.metrics().slowConsumers).toBe(1);
        expect(session?.ended).toBe(false);
        // The queue never held more than the cap plus the one frame that crossed it.
        expect(peak).toBeGreaterThan(0);
        expect(peak).toBeLessThanOrEqual(cap + body.byteLength + 64);
        console.log(
          `slow reader over ${name}: cut off after ${pushes} pushes of 64 KiB; server queue peaked at ${peak} bytes (cap ${cap})`,
        );
        reader.connection.abort();
      } finally {
        await real.close();
      }
    },
  );
});

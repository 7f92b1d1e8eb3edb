import {
  AbortError,
  type CloseInfo,
  type Connection,
  ConnectionClosedError,
  ConnectionResetError,
  DialError,
  FrameTooLargeError,
  type Listener,
  TimeoutError,
  type Transport,
} from "@tether/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

export interface TransportOverrides {
  maxFrameBytes?: number;
  highWaterMark?: number;
}

/** A fresh environment for one test: transports that can reach each other, and addresses. */
export interface ConformanceEnv {
  /** A transport of the kind under test; all transports of one env share a network. */
  transport(overrides?: TransportOverrides): Transport;
  /** A fresh address to listen on (port 0, a new path or name). */
  listenAddress(): string;
  /** The default `maxFrameBytes` of `transport()`. */
  maxFrameBytes: number;
  /** An address nobody listens on: dialing it must fail with `DialError`. */
  closedAddress(): Promise<string>;
  /**
   * Capability: `abort()` reaches the peer as an error (a TCP reset). False where the medium
   * has no reset (Unix sockets): the peer then sees a plain close.
   */
  abortIsVisible: boolean;
  /**
   * Capability: the medium cannot tell one peer from another (Unix sockets), so every accepted
   * connection has a `peerKey` of its own. Otherwise two dials from this process share one.
   */
  peerKeyPerConnection?: boolean;
  /** Capability: an address whose dial never completes, for the connect-timeout case. */
  unresponsiveAddress?(): Promise<string>;
  teardown?(): Promise<void>;
}

export interface ConformanceTarget {
  name: string;
  setup(): Promise<ConformanceEnv> | ConformanceEnv;
}

function frameOf(n: number, size = 8): Uint8Array {
  const frame = new Uint8Array(size);
  new DataView(frame.buffer).setUint32(0, n);
  return frame;
}

function indexOf(frame: Uint8Array): number {
  return new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0);
}

function nextFrames(connection: Connection, count: number): Promise<Uint8Array[]> {
  const frames: Uint8Array[] = [];
  return new Promise((resolve, reject) => {
    const onFrame = (frame: Uint8Array) => {
      frames.push(frame);
      if (frames.length === count) {
        connection.off("frame", onFrame);
        resolve(frames);
      }
    };
    connection.on("frame", onFrame);
    connection.once("close", (info) => {
      if (frames.length < count)
        reject(new Error(`closed after ${frames.length}/${count} frames`, { cause: info.error }));
    });
  });
}

/**
 * Records a connection's frame and readComplete events ("f", "c") and counts the reads left
 * open: a frame whose readComplete had not come by the next macrotask.
 */
function watchReads(connection: Connection): { events: string[]; openReads: () => number } {
  const events: string[] = [];
  let open = 0;
  let checkQueued = false;
  connection.on("frame", () => {
    events.push("f");
    if (checkQueued) return;
    checkQueued = true;
    setImmediate(() => {
      checkQueued = false;
      if (events.at(-1) === "f") open++;
    });
  });
  connection.on("readComplete", () => events.push("c"));
  return { events, openReads: () => open };
}

/** Resource types this test added and did not release (counts above the baseline). */
function leakedSince(baseline: string[]): string[] {
  const remaining = [...baseline];
  const leaked: string[] = [];
  for (const name of process.getActiveResourcesInfo()) {
    const at = remaining.indexOf(name);
    if (at >= 0) remaining.splice(at, 1);
    else leaked.push(name);
  }
  return leaked;
}

/**
 * The conformance suite: every transport runs it through a small runner, so session code can
 * rely on the same behaviour from all of them. Capabilities (`unresponsiveAddress`) gate cases.
 */
export function describeTransportConformance(target: ConformanceTarget): void {
  describe(`${target.name}: transport conformance`, () => {
    let env: ConformanceEnv;
    let cleanups: Array<() => unknown> = [];

    beforeEach(async () => {
      env = await target.setup();
    });

    afterEach(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
      cleanups = [];
      await env.teardown?.();
    });

    async function listen(
      onConnection: (c: Connection) => void,
      overrides?: TransportOverrides,
    ): Promise<Listener> {
      const listener = await env.transport(overrides).listen(env.listenAddress(), onConnection);
      cleanups.push(() => listener.close());
      return listener;
    }

    async function pair(overrides: { server?: TransportOverrides; client?: TransportOverrides } = {}) {
      let resolveServer!: (c: Connection) => void;
      const accepted = new Promise<Connection>((resolve) => {
        resolveServer = resolve;
      });
      const listener = await listen((c) => resolveServer(c), overrides.server);
      const client = await env.transport(overrides.client).dial(listener.address);
      cleanups.push(() => client.abort());
      const server = await accepted;
      cleanups.push(() => server.abort());
      return { listener, client, server };
    }

    it("echoes a frame and reports addresses and status", async () => {
      const { client, server } = await pair();
      server.on("frame", (frame) => server.send(frame));
      const reply = nextFrames(client, 1);
      client.send(new TextEncoder().encode("hello"));
      expect(new TextDecoder().decode((await reply)[0])).toBe("hello");
      expect(client.status).toBe("open");
      expect(client.transport).toBe(server.transport);
      expect(typeof client.remoteAddress).toBe("string");
      expect(typeof server.localAddress).toBe("string");
    });

    it("names each accepted connection's peer: one key per host, or per connection where peers have no address", async () => {
      const accepted: Connection[] = [];
      const listener = await listen((c) => accepted.push(c));
      const transport = env.transport();
      for (let i = 0; i < 2; i++) {
        const client = await transport.dial(listener.address);
        cleanups.push(() => client.abort());
      }
      for (let i = 0; i < 100 && accepted.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
      const [first, second] = accepted as [Connection, Connection];
      cleanups.push(
        () => first.abort(),
        () => second.abort(),
      );
      expect(first.peerKey).toEqual(expect.any(String));
      expect(first.peerKey.length).toBeGreaterThan(0);
      if (env.peerKeyPerConnection) expect(second.peerKey).not.toBe(first.peerKey);
      else expect(second.peerKey).toBe(first.peerKey);
    });

    it("delivers 10,000 small frames and one of maxFrameBytes whole and in order", async () => {
      const { client, server } = await pair();
      const count = 10_000;
      const received = nextFrames(server, count + 1);
      for (let i = 0; i < count; i++) client.send(frameOf(i, 4 + (i % 64)));
      const big = new Uint8Array(env.maxFrameBytes);
      for (let i = 0; i < big.length; i += 997) big[i] = i % 251;
      client.send(big);
      const frames = await received;
      for (let i = 0; i < count; i++) {
        const frame = frames[i] as Uint8Array;
        expect(frame.byteLength).toBe(4 + (i % 64));
        expect(indexOf(frame)).toBe(i);
      }
      expect(Buffer.from(frames[count] as Uint8Array).equals(Buffer.from(big))).toBe(true);
    });

    it("delivers an empty frame", async () => {
      const { client, server } = await pair();
      const received = nextFrames(server, 2);
      client.send(new Uint8Array(0));
      client.send(frameOf(7));
      const [empty, after] = await received;
      expect(empty?.byteLength).toBe(0);
      expect(indexOf(after as Uint8Array)).toBe(7);
    });

    it("ends every run of frames with readComplete before returning to the event loop", async () => {
      const { client, server } = await pair();
      const reads = watchReads(server);
      const count = 2_000;
      const received = nextFrames(server, count);
      for (let i = 0; i < count; i++) {
        client.send(frameOf(i, 16 + (i % 512)));
        if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve)); // several reads
      }
      await received;
      await new Promise((resolve) => setImmediate(resolve));
      expect(reads.openReads()).toBe(0);
      expect(reads.events.at(-1)).toBe("c");
      // No empty reads: every readComplete closes at least one frame.
      expect(reads.events.join("")).not.toContain("cc");
      expect(reads.events.filter((e) => e === "f")).toHaveLength(count);
    });

    it("ends frames held by pause() with readComplete when resume() hands them up", async () => {
      const { client, server } = await pair();
      const reads = watchReads(server);
      const received = nextFrames(server, 20);
      server.once("frame", () => server.pause());
      for (let i = 0; i < 20; i++) client.send(frameOf(i));
      await new Promise((resolve) => setTimeout(resolve, 20));
      server.resume();
      expect((await received).map(indexOf)).toEqual([...Array(20).keys()]);
      await new Promise((resolve) => setImmediate(resolve));
      expect(reads.openReads()).toBe(0);
      expect(reads.events.at(-1)).toBe("c");
    });

    it("hands every event to its one reader before its listeners", async () => {
      const { client, server } = await pair({ client: { highWaterMark: 1024 } });
      const events: string[] = [];
      const reader = {
        connectionFrame: (frame: Uint8Array) => events.push(`reader frame ${indexOf(frame)}`),
        connectionReadComplete: () => events.push("reader readComplete"),
        connectionReadProgress: () => events.push("reader readProgress"),
        connectionDrain: () => events.push("reader drain"),
        connectionClose: (info: CloseInfo) => events.push(`reader close local=${info.local}`),
      };
      if (server.setReader === undefined || client.setReader === undefined) return; // optional seam
      expect(server.setReader(reader)).toBe(true);
      expect(server.setReader(reader)).toBe(false);
      server.on("frame", (frame) => events.push(`listener frame ${indexOf(frame)}`));
      server.on("readComplete", () => events.push("listener readComplete"));
      const received = nextFrames(server, 2);
      client.send(frameOf(1));
      client.send(frameOf(2));
      await received;
      await new Promise((resolve) => setImmediate(resolve));
      const [first, second] = events;
      expect([first, second]).toEqual(["reader frame 1", "listener frame 1"]);
      expect(events).toContain("reader frame 2");
      expect(events.indexOf("reader readComplete")).toBeLessThan(events.indexOf("listener readComplete"));

      const drains: string[] = [];
      client.setReader({
        ...reader,
        connectionDrain: () => drains.push("reader"),
        connectionClose: () => {},
      });
      client.on("drain", () => drains.push("listener"));
      let full = false;
      for (let i = 0; i < 64 && !full; i++) full = !client.send(frameOf(i, 600));
      expect(full).toBe(true);
      await new Promise<void>((resolve) => client.once("drain", () => resolve()));
      expect(drains).toEqual(["reader", "listener"]);

      events.length = 0;
      server.once("close", () => events.push("listener close"));
      await server.close();
      expect(events.filter((e) => e.includes("close"))).toEqual([
        "reader close local=true",
        "listener close",
      ]);
    });

    it("close() flushes what was sent, and the peer sees a clean remote close", async () => {
      const { client, server } = await pair();
      const received = nextFrames(server, 100);
      for (let i = 0; i < 100; i++) client.send(frameOf(i, 512));
      const clientClosed = client.close();
      expect(client.status).toBe("closing");
      expect((await received).map(indexOf)).toEqual([...Array(100).keys()]);
      const serverInfo = await server.closed;
      expect(serverInfo.local).toBe(false);
      expect(serverInfo.error).toBeUndefined();
      expect((await clientClosed).local).toBe(true);
      expect(client.status).toBe("closed");
      expect(() => client.send(frameOf(1))).toThrow(ConnectionClosedError);
    });

    it("abort() closes at once, and reaches the peer as an error close where it can", async () => {
      const { client, server } = await pair();
      const cause = new Error("gave up");
      client.abort(cause);
      const info = await server.closed;
      expect(info.local).toBe(false);
      if (env.abortIsVisible) expect(info.error).toBeInstanceOf(ConnectionResetError);
      const own = await client.closed;
      expect(own.local).toBe(true);
      expect(own.error).toBe(cause);
    });

    it("emits close exactly once, and double close or abort is harmless", async () => {
      const { client, server } = await pair();
      const closes: CloseInfo[] = [];
      client.on("close", (info) => closes.push(info));
      const first = client.close();
      const second = client.close();
      client.abort();
      await Promise.all([first, second, server.closed]);
      await client.close();
      client.abort();
      expect(closes).toHaveLength(1);
    });

    it("fails a dial to a closed address with DialError", async () => {
      const address = await env.closedAddress();
      await expect(env.transport().dial(address)).rejects.toBeInstanceOf(DialError);
    });

    it("fails a dial with a pre-aborted signal with AbortError", async () => {
      const listener = await listen(() => {});
      const controller = new AbortController();
      controller.abort();
      await expect(
        env.transport().dial(listener.address, { signal: controller.signal }),
      ).rejects.toBeInstanceOf(AbortError);
    });

    it("fails a dial that does not complete in connectTimeout with TimeoutError", async (context) => {
      if (env.unresponsiveAddress === undefined) {
        context.skip();
        return;
      }
      const address = await env.unresponsiveAddress();
      await expect(env.transport().dial(address, { connectTimeout: 50 })).rejects.toBeInstanceOf(
        TimeoutError,
      );
    });

    it("listener close() ends the connections it accepted", async () => {
      const { listener, client, server } = await pair();
      await listener.close();
      await listener.close();
      expect(server.status).toBe("closed");
      const info = await client.closed;
      expect(info.local).toBe(false);
    });

    it("emits drain after send() returns false", async () => {
      const { client, server } = await pair({ client: { highWaterMark: 16 * 1024 } });
      server.pause();
      const chunk = new Uint8Array(32 * 1024);
      let sent = 0;
      let full = false;
      // Bounded: stop at 64 MiB even if the transport never pushes back (the test then fails).
      while (!full && sent < 2048) {
        full = !client.send(frameOf(sent, chunk.byteLength));
        sent++;
      }
      expect(full).toBe(true);
      const drained = new Promise<void>((resolve) => client.once("drain", () => resolve()));
      const received = nextFrames(server, sent);
      server.resume();
      await drained;
      expect((await received).map(indexOf)).toEqual([...Array(sent).keys()]);
    });

    it("is done with a frame's bytes when the turn that sent it ends, however much waits", async () => {
      // The sender may reuse a frame's memory from the next turn on (Tether's encoder does):
      // frames still queued behind a peer that does not read must have been copied.
      const { client, server } = await pair({ client: { highWaterMark: 64 * 1024 * 1024 } });
      server.pause();
      const size = Math.min(100 * 1024, env.maxFrameBytes);
      const count = Math.ceil((16 * 1024 * 1024) / size);
      const frames = Array.from({ length: count }, (_, i) => frameOf(i, size).fill(i & 0xff, 4));
      const received = nextFrames(server, count);
      for (const frame of frames) client.send(frame);
      await new Promise((resolve) => setImmediate(resolve));
      for (const frame of frames) frame.fill(0xee);
      server.resume();
      const got = await received;
      for (let i = 0; i < count; i++) {
        const expected = frameOf(i, size).fill(i & 0xff, 4);
        expect(Buffer.from(got[i] as Uint8Array).equals(Buffer.from(expected)), `frame ${i}`).toBe(true);
      }
    });

    it("emits drain after send() returns false even when the queue empties at once", async () => {
      // Frames that pass the mark together within one tick, to a peer that reads: the
      // transport may write them all at once, and the drain it promised must still come.
      const { client, server } = await pair({ client: { highWaterMark: 1024 } });
      let sent = 0;
      let full = false;
      while (!full && sent < 64) {
        full = !client.send(frameOf(sent, 600));
        sent++;
      }
      expect(full).toBe(true);
      const drained = new Promise<void>((resolve) => client.once("drain", () => resolve()));
      const received = nextFrames(server, sent);
      await drained;
      expect((await received).map(indexOf)).toEqual([...Array(sent).keys()]);
    });

    it("refuses an oversized frame with FrameTooLargeError on both sides", async () => {
      const small = 1024;
      const { client, server } = await pair({
        server: { maxFrameBytes: small },
        client: { maxFrameBytes: 4 * small },
      });
      const { client: strict } = await pair({ client: { maxFrameBytes: small } });
      expect(() => strict.send(new Uint8Array(small + 1))).toThrow(FrameTooLargeError);
      expect(strict.status).toBe("open");
      // The client's own limit lets it through; the server's refuses it and ends the connection.
      client.send(new Uint8Array(small + 1));
      const info = await server.closed;
      expect(info.error).toBeInstanceOf(FrameTooLargeError);
      await client.closed;
    });

    it("leaves no open handles after teardown", async () => {
      const before = process.getActiveResourcesInfo();
      const { listener, client, server } = await pair();
      server.on("frame", (frame) => server.send(frame));
      const reply = nextFrames(client, 1);
      client.send(frameOf(1));
      await reply;
      await client.close();
      await listener.close();
      await server.closed;
      // Sockets release their handles a loop turn or two after close: wait, bounded (0.5 s).
      for (let i = 0; i < 50 && leakedSince(before).length > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(leakedSince(before)).toEqual([]);
    });
  });
}

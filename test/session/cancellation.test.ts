// A request the caller gives up (abort or timeout) is cancelled on the server: its handler's
// signal aborts, across a resume too, and a server that cannot take Cancel never gets one
// (docs/PROTOCOL.md, "Requests").
import {
  createClient,
  createServer,
  decodeFrame,
  encodeFrame,
  ManualClock,
  MessageType,
  PROTOCOL_VERSION,
  silentLogger,
  type TetherServer,
} from "@tether/core";
import { createMemoryNetwork, type MemoryNetwork } from "@tether/transport-memory";
import { afterEach, describe, expect, it } from "vitest";
import { closeOnClock } from "../support/close-on-clock.js";

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

const settle = async (clock: ManualClock, ms = 100) => {
  for (let i = 0; i < ms / 10; i++) await clock.advanceAsync(10);
};

/** A server whose "wait" handler runs until its signal aborts, recording why. */
async function setUp() {
  const clock = new ManualClock();
  const network = createMemoryNetwork({ clock });
  const server: TetherServer = createServer({ clock, tickTime: 500, logger: silentLogger });
  const aborted: unknown[] = [];
  server.handle(
    "wait",
    (_body, { signal }) =>
      new Promise((_resolve, reject) => {
        signal.addEventListener("abort", () => {
          aborted.push(signal.reason);
          reject(signal.reason);
        });
      }),
  );
  await server.listen(network.transport(), "server");
  const client = createClient({
    servers: [{ transport: network.transport({ address: "client" }), address: "server" }],
    clock,
    timeout: 6000,
    logger: silentLogger,
  });
  closers.push(() => closeOnClock(clock, client, server));
  await settle(clock);
  return { clock, network, server, client, aborted };
}

describe("cancellation", () => {
  it("aborting a request aborts its handler's signal on the server", async () => {
    const { clock, client, aborted } = await setUp();
    const controller = new AbortController();
    const outcome = client.request("wait", null, { signal: controller.signal }).catch((e: unknown) => e);
    await settle(clock);
    expect(aborted).toEqual([]);
    controller.abort();
    expect(await outcome).toMatchObject({ name: "AbortError" });
    await settle(clock);
    expect(aborted).toHaveLength(1);
    expect(aborted[0]).toMatchObject({ name: "CancelledError" });
  });

  it("a request that times out is cancelled too", async () => {
    const { clock, client, aborted } = await setUp();
    const outcome = client.request("wait", null, { timeout: 200 }).catch((e: unknown) => e);
    await settle(clock, 300);
    expect(await outcome).toMatchObject({ name: "TimeoutError" });
    await settle(clock);
    expect(aborted).toHaveLength(1);
  });

  it("a request given up while disconnected is cancelled after the resume", async () => {
    const { clock, network, client, aborted } = await setUp();
    const controller = new AbortController();
    const outcome = client.request("wait", null, { signal: controller.signal }).catch((e: unknown) => e);
    await settle(clock);
    const sessionId = client.sessionId;
    // Given up in the gap between connections: the Cancel waits for the next Welcome.
    client.on("state", (state) => {
      if (state === "disconnected") controller.abort();
    });
    for (const link of network.links()) link.reset(new Error("cable cut"));
    expect(await outcome).toMatchObject({ name: "AbortError" });
    await settle(clock);
    expect(client.state).toBe("connected");
    expect(client.sessionId).toBe(sessionId);
    expect(aborted).toHaveLength(1);
  });

  it("a server from before Cancel never gets one", async () => {
    const clock = new ManualClock();
    const network: MemoryNetwork = createMemoryNetwork({ clock });
    const types: number[] = [];
    // A server of the first protocol revision: its Welcome ends after maxFrameBytes.
    await network.transport().listen("old", (connection) => {
      connection.on("frame", (frame) => {
        const message = decodeFrame(frame) as unknown[];
        types.push(message[0] as number);
        if (message[0] === MessageType.Hello) {
          const password = new Uint8Array(16);
          connection.send(encodeFrame([MessageType.Welcome, "s1", password, 6000, false, 1 << 20]));
        }
      });
    });
    const client = createClient({
      servers: [{ transport: network.transport(), address: "old" }],
      clock,
      timeout: 6000,
      logger: silentLogger,
    });
    closers.push(() => closeOnClock(clock, client));
    await settle(clock);
    const controller = new AbortController();
    const outcome = client.request("wait", null, { signal: controller.signal }).catch((e: unknown) => e);
    await settle(clock);
    controller.abort();
    await outcome;
    await settle(clock);
    expect(types).toEqual([MessageType.Hello, MessageType.Request]);
    expect(PROTOCOL_VERSION).toBe(1); // Cancel is an addition both sides announce, not a new version
  });
});

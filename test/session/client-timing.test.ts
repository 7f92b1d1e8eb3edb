// Client timing rules on the memory transport and a ManualClock (docs/PROTOCOL.md, "Liveness").
import {
  type Connection,
  createClient,
  createServer,
  decodeFrame,
  encodeFrame,
  ManualClock,
  MessageType,
  type TetherClient,
  type Transport,
} from "@tether/core";
import { createMemoryNetwork, type MemoryNetwork } from "@tether/transport-memory";
import { afterEach, describe, expect, it } from "vitest";
import { closeOnClock } from "../support/close-on-clock.js";

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function stop(clock: ManualClock, ...things: Array<{ close(): Promise<void> }>) {
  closers.push(() => closeOnClock(clock, ...things));
}

/** The memory network's transport, with `hook` run on each dial before the caller gets it. */
function dialing(network: MemoryNetwork, hook: (connection: Connection) => Promise<void> | void): Transport {
  const inner = network.transport();
  return {
    name: "memory",
    listen: (address, onConnection) => inner.listen(address, onConnection),
    async dial(address, options) {
      const connection = await inner.dial(address, options);
      await hook(connection);
      return connection;
    },
  };
}

async function stepUntil(
  clock: ManualClock,
  done: () => boolean,
  stepMs: number,
  maxMs: number,
): Promise<number> {
  for (let waited = 0; waited <= maxMs && !done(); waited += stepMs) await clock.advanceAsync(stepMs);
  return clock.now();
}

describe("client timing", () => {
  it("counts the Hello as a send: the first Ping goes T/3 after it, whatever the round trip", async () => {
    const clock = new ManualClock();
    const network = createMemoryNetwork({ clock });
    const server = createServer({ clock, tickTime: 500 });
    await server.listen(network.transport(), "server");
    // 300 ms each way, set before the client sends its Hello.
    const slow = dialing(network, () => {
      for (const link of network.links()) link.setLatency(300);
    });
    const client = createClient({ servers: [{ transport: slow, address: "server" }], clock, timeout: 6000 });
    stop(clock, client, server);
    const pingArrived = await stepUntil(clock, () => server.metrics().pings > 0, 25, 5000);
    // Hello at 0; the Ping is due at 2,000 and arrives 300 ms later. (The starting code sent it
    // T/3 after the Welcome arrived: at 2,600, arriving at 2,900.)
    expect(pingArrived).toBeGreaterThanOrEqual(2300);
    expect(pingArrived).toBeLessThanOrEqual(2325);
  });

  it("gives each attempt T/n in all, dial and handshake together", async () => {
    const clock = new ManualClock();
    const network = createMemoryNetwork({ clock });
    // A server that never answers a Hello.
    const silent = await network.transport().listen("silent", () => {});
    const dialed: Connection[] = [];
    // Each dial takes 4.8 s of the 6 s that T/n allows here.
    const slowDial = dialing(network, async (connection) => {
      await new Promise<void>((resolve) => clock.setTimeout(resolve, 4800));
      dialed.push(connection);
    });
    const client = createClient({
      servers: [{ transport: slowDial, address: "silent" }],
      clock,
      timeout: 6000,
      clientExpiry: false,
    });
    stop(clock, client, silent);
    const givenUp = await stepUntil(clock, () => dialed[0]?.status === "closed", 50, 15_000);
    // The starting code gave the handshake another T/n after the dial: 10.8 s.
    expect(givenUp).toBeGreaterThanOrEqual(6000);
    expect(givenUp).toBeLessThanOrEqual(6100);
  });

  it("a Welcome and a non-final Goodbye in one read leave the session to 4T/3 after the Welcome", async () => {
    const clock = new ManualClock(1_000_000); // a clock far from 0, as a real one is
    const network = createMemoryNetwork({ clock });
    // Welcomes every Hello and says Goodbye 4007 (going away) in the same write, then closes.
    const flaky = await network.transport().listen("flaky", (connection) => {
      connection.on("frame", (frame) => {
        const hello = decodeFrame(frame) as unknown[];
        if (hello[0] !== MessageType.Hello) return;
        const sessionId = (hello[3] as string | null) ?? "a1b2c3d4e5f6a1b2c3d4e5f6";
        connection.send(
          encodeFrame([MessageType.Welcome, sessionId, new Uint8Array(16), 6000, hello[3] !== null]),
        );
        connection.send(encodeFrame([MessageType.Goodbye, 4007, "going away"]));
        void connection.close();
      });
    });
    const client: TetherClient = createClient({
      servers: [{ transport: network.transport(), address: "flaky" }],
      clock,
      timeout: 6000,
    });
    const states: Array<[number, string]> = [];
    client.on("state", (state) => states.push([clock.now(), state]));
    stop(clock, client, flaky);
    await stepUntil(clock, () => states.some(([, s]) => s === "disconnected"), 10, 1000);
    await clock.advanceAsync(100);
    // The starting code said expired 0 ms after the disconnect.
    expect(states.find(([, s]) => s === "expired")).toBeUndefined();
    // Reconnects keep being welcomed and sent away, so the session is heard from every time.
    await clock.advanceAsync(7000);
    expect(states.find(([, s]) => s === "expired")).toBeUndefined();
  });
});

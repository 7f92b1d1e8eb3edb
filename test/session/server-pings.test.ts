// Server Pings for clients whose timers run late (a browser tab in the background fires them
// at most once a minute): memory transport, ManualClock, docs/PROTOCOL.md "Liveness".
import { type Clock, createClient, createServer, ManualClock, type TetherClient } from "@tether/core";
import { createMemoryNetwork } from "@tether/transport-memory";
import { afterEach, describe, expect, it } from "vitest";
import { closeOnClock } from "../support/close-on-clock.js";

const T = 30_000;
const TICK = 2000;
/** How late a hidden tab's timers fire: Chrome wakes them once a minute. */
const LATE = 60_000;

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** `clock`, with every timer firing `late` ms after it was due (reading the time is exact). */
function throttled(clock: ManualClock, late: number): Clock {
  return {
    now: () => clock.now(),
    setTimeout: (callback, delayMs) => clock.setTimeout(callback, delayMs + late),
    clearTimeout: (handle) => clock.clearTimeout(handle),
  };
}

async function start(serverPings: boolean) {
  const clock = new ManualClock();
  const network = createMemoryNetwork({ clock });
  const server = createServer({ clock, tickTime: TICK });
  await server.listen(network.transport(), "s1");
  const expired: string[] = [];
  server.on("expire", (session) => expired.push(session.id));
  const client: TetherClient = createClient({
    servers: [{ transport: network.transport(), address: "s1" }],
    timeout: T,
    clock: throttled(clock, LATE),
    serverPings,
  });
  closers.push(() => closeOnClock(clock, client, server));
  for (let i = 0; i < 100 && client.state !== "connected"; i++) await clock.advanceAsync(10);
  expect(client.state).toBe("connected");
  return { clock, server, client, expired };
}

async function advance(clock: ManualClock, ms: number): Promise<void> {
  for (let left = ms; left > 0; left -= 500) await clock.advanceAsync(Math.min(500, left));
}

describe("server Pings (Hello serverPings)", () => {
  it("without them, a client whose timers fire a minute late loses its session", async () => {
    const { clock, client, expired } = await start(false);
    const id = client.sessionId as string;
    await advance(clock, 2 * T);
    expect(expired).toEqual([id]);
  });

  it("with them, that client keeps its session and its connection for ten minutes", async () => {
    const { clock, server, client, expired } = await start(true);
    const id = client.sessionId as string;
    const states: string[] = [];
    client.on("state", (state) => states.push(state));
    const pingsBefore = server.metrics().pings;
    await advance(clock, 10 * 60_000);
    expect(expired).toEqual([]);
    expect(states).toEqual([]);
    expect(client.state).toBe("connected");
    expect(server.getSession(id)?.connected).toBe(true);
    // The server pinged it about every T/3; its own late timers sent a Ping a minute at most.
    expect(server.metrics().pingsSent).toBeGreaterThanOrEqual((10 * 60_000) / (T / 3 + TICK));
    expect(server.metrics().pings - pingsBefore).toBeLessThanOrEqual(10);
  });

  it("pings only a quiet session: a busy one hears no server Ping", async () => {
    const { clock, server, client } = await start(true);
    server.handle("echo", (body) => body);
    // A request every T/6: never quiet for T/3.
    for (let i = 0; i < 30; i++) {
      await expect(client.request("echo", i)).resolves.toBe(i);
      await advance(clock, T / 6);
    }
    expect(server.metrics().pingsSent).toBe(0);
    // Quiet from now on: pinged within T/3 and a tick.
    await advance(clock, T / 3 + TICK);
    expect(server.metrics().pingsSent).toBe(1);
  });
});

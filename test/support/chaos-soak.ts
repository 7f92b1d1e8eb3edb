// The chaos soak: many clients, random faults on a memory network, every guarantee checked after.
import {
  createClient,
  createServer,
  ManualClock,
  type ServerOptions,
  type ServerSession,
  type TetherClient,
} from "@tether/core";
import { createMemoryNetwork } from "@tether/transport-memory";
import { expect } from "vitest";
import { seededRandom } from "./prng.js";

const SEED = Number(process.env.CHAOS_SEED ?? 20261121);
const CLIENTS = 30;
const CALM = 5; // clients the chaos never touches: the control group
const T = 3000;
const TICK = 500;

export interface ChaosOptions {
  /** How long faults are injected, in clock ms. */
  chaosMs: number;
  serverOptions?: () => ServerOptions;
  /** Moves the clock; a store that talks to another process lets it answer along the way. */
  advance?: (clock: ManualClock, ms: number) => Promise<void>;
}

/** Runs the soak and checks every guarantee; returns its one-line summary. */
export async function chaosSoak(options: ChaosOptions): Promise<string> {
  const CHAOS_MS = options.chaosMs;
  const advance = options.advance ?? ((clock: ManualClock, ms: number) => clock.advanceAsync(ms));
  const random = seededRandom(SEED);
  const clock = new ManualClock();
  const network = createMemoryNetwork({ clock, random });
  const server = createServer({
    clock,
    tickTime: TICK,
    maxConnectionsPerAddress: 0,
    ...options.serverOptions?.(),
  });

  // Server side: requests count their runs; every live session gets a numbered push stream.
  const runs = new Map<string, number>();
  server.handle("work", (body) => {
    const { client, n } = body as { client: number; n: number };
    const key = `${client}:${n}`;
    runs.set(key, (runs.get(key) ?? 0) + 1);
    return new Promise((resolve) => clock.setTimeout(() => resolve(n), random() * 200));
  });
  const pushed = new Map<string, number>();
  const endedOnServer = new Map<string, string[]>();
  server.on("expire", (session, reason) => {
    endedOnServer.set(session.id, [...(endedOnServer.get(session.id) ?? []), reason]);
  });
  await server.listen(network.transport(), "server");
  const pushTimer = () => {
    for (const session of server.sessions() as Iterable<ServerSession>) {
      const k = (pushed.get(session.id) ?? 0) + 1;
      try {
        session.push("seq", k);
        pushed.set(session.id, k);
      } catch {
        // The session ended on an overflowing buffer: the test's expiry checks cover it.
      }
    }
    clock.setTimeout(pushTimer, 100);
  };
  clock.setTimeout(pushTimer, 100);

  // Clients: each issues a request every ~200 ms and records pushes and outcomes.
  const clients: TetherClient[] = [];
  const received = new Map<string, number[]>();
  const outcomes = new Map<string, string[]>();
  let issuing = true;
  for (let i = 0; i < CLIENTS; i++) {
    const client = createClient({
      servers: [{ transport: network.transport({ address: `client-${i}` }), address: "server" }],
      timeout: T,
      clock,
      random,
      backoff: { initial: 100, max: 1000 },
    });
    clients.push(client);
    client.on("push", (_topic, body) => {
      const id = client.sessionId as string;
      received.set(id, [...(received.get(id) ?? []), body as number]);
    });
    let n = 0;
    const issue = () => {
      if (!issuing || ["expired", "closed", "auth-failed"].includes(client.state)) return;
      const key = `${i}:${++n}`;
      const record = (outcome: string) => outcomes.set(key, [...(outcomes.get(key) ?? []), outcome]);
      client.request("work", { client: i, n }, { timeout: 4 * T }).then(
        () => record("ok"),
        (error: Error) => record(error.name),
      );
      clock.setTimeout(issue, 100 + random() * 200);
    };
    clock.setTimeout(issue, random() * 200);
  }

  // Chaos: every 250 ms something happens to one of the exposed clients.
  const faults = { blackHoles: 0, resets: 0, partitions: 0, latency: 0, drops: 0 };
  const longCuts = new Set<number>(); // clients cut off for >= 2T: their sessions must expire
  const chaos = () => {
    if (clock.now() >= CHAOS_MS) return;
    const victim = CALM + Math.floor(random() * (CLIENTS - CALM));
    const address = `client-${victim}`;
    const link = network.links(address)[0];
    const roll = random();
    if (roll < 0.25 && link) {
      faults.blackHoles++;
      link.blackHole();
      clock.setTimeout(() => link.heal(), random() * 1.5 * T);
    } else if (roll < 0.45 && link) {
      faults.resets++;
      link.reset();
    } else if (roll < 0.6 && !network.isPartitioned(address)) {
      faults.partitions++;
      const long = random() < 0.3;
      const duration = long ? 2 * T + random() * T : random() * T;
      network.partition(address);
      clock.setTimeout(() => {
        // Counted only if it lasted its whole length (the calm phase heals everything early).
        if (long && network.isPartitioned(address)) longCuts.add(victim);
        network.heal(address);
      }, duration);
    } else if (roll < 0.8 && link) {
      faults.latency++;
      link.setLatency(random() * 300);
      clock.setTimeout(() => link.setLatency(0), random() * T);
    } else if (link) {
      faults.drops++;
      link.setDropRate(0.05);
      clock.setTimeout(() => link.setDropRate(0), random() * T);
    }
    clock.setTimeout(chaos, 250);
  };
  clock.setTimeout(chaos, 1000);

  await advance(clock, CHAOS_MS);
  // Calm: heal everything, stop new requests, let every outcome and replay arrive.
  network.heal();
  for (const link of network.links()) {
    link.heal();
    link.setLatency(0);
    link.setDropRate(0);
  }
  issuing = false;
  await advance(clock, 6 * T);

  // 1. Every request got exactly one outcome; none ran twice; every success ran once.
  let requests = 0;
  let succeeded = 0;
  for (const [key, got] of outcomes) {
    requests++;
    expect([key, got.length]).toEqual([key, 1]);
    if (got[0] === "ok") {
      succeeded++;
      expect([key, runs.get(key)]).toEqual([key, 1]);
    }
  }
  for (const [key, count] of runs) expect([key, count]).toEqual([key, 1]);

  // 2. Pushes: in order, each once; live sessions got every one.
  let pushesChecked = 0;
  for (const [id, got] of received) {
    expect(got).toEqual(got.map((_, index) => index + 1)); // 1, 2, 3... no gap, no repeat
    pushesChecked += got.length;
    if (!endedOnServer.has(id)) expect(got.length).toBe(pushed.get(id));
  }

  // 3. Expiry: each ended session ended once; owners of expired sessions see `expired`;
  //    long-cut clients lost their sessions; the calm control group kept theirs.
  for (const [id, reasons] of endedOnServer) expect([id, reasons.length]).toEqual([id, 1]);
  const expiredClients = clients.filter((c) => c.state === "expired").length;
  for (const [index, client] of clients.entries()) {
    const ended = endedOnServer.get(client.sessionId as string);
    if (ended?.includes("expired")) expect([index, client.state]).toEqual([index, "expired"]);
    if (client.state === "expired") expect([index, ended?.length]).toEqual([index, 1]);
    if (longCuts.has(index)) expect([index, client.state]).toEqual([index, "expired"]);
    if (index < CALM) expect([index, client.state]).toEqual([index, "connected"]);
  }

  const outcomeKinds: Record<string, number> = {};
  for (const got of outcomes.values())
    outcomeKinds[got[0] as string] = (outcomeKinds[got[0] as string] ?? 0) + 1;
  const summary =
    `chaos soak (seed ${SEED}): ${CLIENTS} clients, ${requests} requests (${succeeded} ok; ${JSON.stringify(outcomeKinds)}), ` +
    `${[...pushed.values()].reduce((a, b) => a + b, 0)} pushes sent, ${pushesChecked} delivered and checked, ` +
    `faults ${JSON.stringify(faults)}, ${endedOnServer.size} sessions ended on the server, ` +
    `${expiredClients} clients saw expired, ${longCuts.size} cut off for over 2T`;
  expect(requests).toBeGreaterThan(CHAOS_MS / 60);
  expect(pushesChecked).toBeGreaterThan(CHAOS_MS / 60);

  let done = false;
  const closing = Promise.all([...clients.map((c) => c.close()), server.close()]).finally(() => {
    done = true;
  });
  for (let i = 0; i < 100 && !done; i++) await advance(clock, 1000);
  await closing;
  return summary;
}

/**
 * bench/cluster-request-path: what a request costs with its session in Redis, with no sockets
 * between client and server, so the figure is steady enough to measure one change by. Request
 * frames go straight into a `TetherServer` connection (the real pipeline, an echo handler), as
 * `CLIENTS` clients with 64 requests in flight each would send them: each client's next 64
 * once its last 64 are answered. Baseline in the same run: the same server with the in-process
 * store. Reported per request: this process's CPU, Redis's CPU (INFO cpu), and the time a round
 * of 64 waits; and the store's script calls per round (INFO commandstats).
 *
 * Runs its own redis-server (Debian's, on a Unix socket), and the built packages (`dist`, what
 * users run; the script builds them first).
 */
import { redisSessionStore } from "@tether/cluster-redis";
import {
  createServer,
  MemorySessionBackend,
  MessageType,
  PROTOCOL_VERSION,
  type SessionStoreFactory,
  SharedSessionStore,
} from "@tether/core";
import { Packr } from "msgpackr";
import { startRedis } from "../../../test/support/redis-server.js";
import { BenchConnection } from "../bench-connection.js";
import { fmt } from "../stats.js";

const CLIENTS = Number(process.env.CLIENTS ?? 16);
const ROUNDS = Number(process.env.ROUNDS ?? 300);
const PASSES = Number(process.env.PASSES ?? 5);
const IN_FLIGHT = 64;
const packr = new Packr({ useRecords: false });
const body = new Uint8Array(100).fill(7);

/** Round `r`'s 64 request frames of one client, acknowledging every answer before them. */
function requestRead(round: number): Uint8Array[] {
  return Array.from({ length: IN_FLIGHT }, (_, i) => {
    const seq = round * IN_FLIGHT + i + 1;
    return packr.pack([MessageType.Request, seq, "echo", body, 0, round * IN_FLIGHT + 1]);
  });
}
const reads = Array.from({ length: ROUNDS }, (_, round) => requestRead(round));

interface Pass {
  nsPerRequest: number;
  redisNsPerRequest: number;
  msPerRound: number;
}

async function pass(store: SessionStoreFactory | undefined, redisCpu: () => Promise<number>): Promise<Pass> {
  const server = createServer({
    maxConnectionsPerAddress: 0,
    maxInFlightPerConnection: 256,
    ...(store === undefined ? {} : { sessionStore: store }),
  });
  server.handle("echo", (value) => value);
  const clients = Array.from({ length: CLIENTS }, () => new WaitingClient());
  for (const client of clients) {
    server.accept(client);
    client.deliver(packr.pack([MessageType.Hello, PROTOCOL_VERSION, 30_000, null, null, 0, null]));
  }
  await answered(clients, 1); // the Welcomes
  const redisStart = await redisCpu();
  const start = process.cpuUsage();
  const began = performance.now();
  for (let round = 0; round < ROUNDS; round++) {
    for (const client of clients) client.deliver(...(reads[round] as Uint8Array[]));
    await answered(clients, 1 + (round + 1) * IN_FLIGHT);
  }
  const elapsed = performance.now() - began;
  const used = process.cpuUsage(start);
  const redisUsed = (await redisCpu()) - redisStart;
  const requests = ROUNDS * IN_FLIGHT * CLIENTS;
  await server.close();
  return {
    nsPerRequest: ((used.user + used.system) * 1000) / requests,
    redisNsPerRequest: (redisUsed * 1e9) / requests,
    msPerRound: elapsed / ROUNDS,
  };
}

/** A client that can wait for its answers without spinning (a spin would count as server CPU). */
class WaitingClient extends BenchConnection {
  #wanted = 0;
  #reached: (() => void) | undefined;

  /** Resolves once `count` answers have come, in all. */
  answered(count: number): Promise<void> {
    if (this.answers >= count) return Promise.resolve();
    this.#wanted = count;
    return new Promise((resolve) => {
      this.#reached = resolve;
    });
  }

  protected override sendFrame(): boolean {
    super.sendFrame();
    if (this.#reached !== undefined && this.answers >= this.#wanted) {
      const reached = this.#reached;
      this.#reached = undefined;
      reached();
    }
    return true;
  }
}

/** Waits for every client's `count` answers, failing if the server stops answering. */
async function answered(clients: WaitingClient[], count: number): Promise<void> {
  const stalled = setTimeout(() => {
    throw new Error("the server stopped answering");
  }, 30_000);
  await Promise.all(clients.map((client) => client.answered(count)));
  clearTimeout(stalled);
}

const redis = await startRedis();
const admin = redis.client();
/** Redis's CPU seconds so far (user + system). */
const redisCpu = async (): Promise<number> => {
  const info = await admin.info("cpu");
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? Number.NaN);
  return field("used_cpu_user") + field("used_cpu_sys");
};
const noRedis = async () => 0;

let prefixes = 0;
const memory: Pass[] = [];
const shared: Pass[] = [];
const engine: Pass[] = [];
// STORES=redis (say) runs only those passes, for a CPU profile of one store's path.
const stores = (process.env.STORES ?? "memory,engine,redis").split(",");
for (let p = 0; p < PASSES; p++) {
  if (stores.includes("memory")) memory.push(await pass(undefined, noRedis));
  const backend = new MemorySessionBackend();
  if (stores.includes("engine"))
    engine.push(await pass((context) => new SharedSessionStore(context, backend), noRedis));
  const store = redisSessionStore({ redis: { path: redis.path }, prefix: `request-path${++prefixes}:` });
  if (stores.includes("redis")) shared.push(await pass(store, redisCpu));
}
const calls = await admin.info("commandstats");
if (process.env.COMMANDSTATS) console.log(calls);
await admin.quit();
await redis.stop();

// The fastest pass: the least disturbed by the rest of a shared machine.
const best = (passes: Pass[], key: keyof Pass) => Math.min(...passes.map((p) => p[key]));
const requests = PASSES * ROUNDS * IN_FLIGHT * CLIENTS;
const evalsha = Number(/cmdstat_evalsha:calls=(\d+)/.exec(calls)?.[1] ?? Number.NaN);
console.log(
  `cluster-request-path: ${CLIENTS} clients x ${IN_FLIGHT} in flight, ${ROUNDS} rounds, 100 B, fastest of ${PASSES} passes`,
);
console.log("| store | server CPU ns/request | Redis CPU ns/request | ms per round of 64 |");
console.log("| --- | ---: | ---: | ---: |");
console.log(
  `| in-process | ${fmt(best(memory, "nsPerRequest"))} | - | ${fmt(best(memory, "msPerRound"), 2)} |`,
);
console.log(
  `| shared, in-process backend | ${fmt(best(engine, "nsPerRequest"))} | - | ${fmt(best(engine, "msPerRound"), 2)} |`,
);
console.log(
  `| Redis | ${fmt(best(shared, "nsPerRequest"))} | ${fmt(best(shared, "redisNsPerRequest"))} | ${fmt(best(shared, "msPerRound"), 2)} |`,
);
console.log(
  `Redis / in-process, server CPU per request: ${fmt(best(shared, "nsPerRequest") / best(memory, "nsPerRequest"), 2)}x; script calls per 64 requests: ${fmt((evalsha / requests) * IN_FLIGHT, 2)}`,
);

/**
 * bench/cluster-touches: how many session touches (frames) per second one server's store
 * absorbs, with sessions in Redis (`@tether/cluster-redis`) against the in-process store, in
 * one run. Every pass touches every session; the clock moves on, so each session's deadline
 * bucket changes every tick and every flush writes every session: the Redis store's worst
 * case. Also reported: this process's CPU, Redis's CPU per command type (INFO commandstats),
 * and whether Redis kept up (every session's deadline in Redis is its last touch's bucket).
 *
 * Runs its own redis-server (Debian's, on a Unix socket).
 */
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { RedisSessionStore, wallClock } from "@tether/cluster-redis";
import { MemorySessionStore, type ServerSession, type SessionStore } from "@tether/core";
import { startRedis } from "../../../test/support/redis-server.js";
import { fmt } from "../stats.js";
import { storeContext } from "./store-context.js";

const SESSIONS = Number(process.env.SESSIONS ?? 20_000);
const SECONDS = Number(process.env.SECONDS ?? 5);
const TICK = Number(process.env.TICK ?? 200);
const TIMEOUT = 30_000;

const context = storeContext(TICK, TIMEOUT);

interface Result {
  touchesPerSecond: number;
  cpuPercent: number;
  sessions: ServerSession[];
  /** When the last pass over the sessions began (each session's last touch is after it). */
  lastPassAt: number;
}

async function measure(
  store: SessionStore,
  opened: () => Promise<unknown> = async () => {},
): Promise<Result> {
  const sessions: ServerSession[] = [];
  for (let i = 0; i < SESSIONS; i += 500) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(500, SESSIONS - i) }, () => store.open(TIMEOUT, null)),
    );
    sessions.push(...batch);
  }
  await opened();
  const start = performance.now();
  const cpu = process.cpuUsage();
  let touches = 0;
  let lastPassAt = wallClock.now();
  while (performance.now() - start < SECONDS * 1000) {
    lastPassAt = wallClock.now();
    for (const session of sessions) store.touch(session);
    touches += sessions.length;
    await yieldToLoop(); // lets the store's tick timer and Redis replies run
  }
  const elapsed = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuPercent = ((used.user + used.system) / 1e6 / elapsed) * 100;
  return { touchesPerSecond: touches / elapsed, cpuPercent, sessions, lastPassAt };
}

function commandStats(info: string): Map<string, { calls: number; usec: number }> {
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const match of info.matchAll(/^cmdstat_(\w+):calls=(\d+),usec=(\d+)/gm)) {
    stats.set(match[1] as string, { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return stats;
}

const redis = await startRedis();
const admin = redis.client();
try {
  console.log(`bench/cluster-touches: ${SESSIONS} sessions, tickTime ${TICK} ms, ${SECONDS} s per store`);

  const memory = await measure(new MemorySessionStore({ ...context, clock: wallClock }));
  console.log(
    `in-process store: ${fmt(memory.touchesPerSecond / 1e6, 2)}M touches/s, ${fmt(memory.cpuPercent)}% CPU`,
  );

  const store = new RedisSessionStore(context, { redis: { path: redis.path }, prefix: "bench:" });
  await store.ready;
  // Counted from the first touch: opening the sessions is not part of it.
  const clustered = await measure(store, () => admin.config("RESETSTAT"));
  const info = commandStats(await admin.info("commandstats"));
  // Two more ticks: the last touches reach Redis; then every deadline must be current.
  await new Promise((resolve) => setTimeout(resolve, 2 * TICK + 50));
  const scores = await admin.zmscore("bench:expiry", ...clustered.sessions.map((s) => s.id));
  const behind = clustered.sessions.filter(
    (_, i) => !(Number(scores[i]) > clustered.lastPassAt + TIMEOUT),
  ).length;
  await store.close();

  const ratio = clustered.touchesPerSecond / memory.touchesPerSecond;
  console.log(
    `redis store:      ${fmt(clustered.touchesPerSecond / 1e6, 2)}M touches/s, ${fmt(clustered.cpuPercent)}% CPU (${fmt(ratio * 100)}% of in-process)`,
  );
  for (const [name, { calls, usec }] of info) {
    console.log(
      `  redis ${name}: ${calls} calls, ${fmt(usec / calls / 1000, 2)} ms each, ${fmt((usec / 1e6 / SECONDS) * 100)}% of Redis's core`,
    );
  }
  console.log(`  kept up: ${behind} of ${SESSIONS} sessions have a deadline in Redis before last touch + T`);
} finally {
  admin.disconnect();
  await redis.stop();
}

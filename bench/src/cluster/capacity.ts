/**
 * bench/cluster-capacity: what idle sessions cost Redis in cluster mode. Three stores (three
 * servers' worth, in this process) share one redis-server; SIZES sessions are opened across
 * them, then each is touched once every T/3, as an idle client's Ping would, for SECONDS.
 * Reported per size: Redis's CPU (INFO cpu, as % of one core), Redis's memory per session (INFO
 * memory, after opening against before), Redis commands per tick and per server (INFO
 * commandstats), and this process's CPU for the three stores. T = 30 s, tick 2 s (the defaults).
 *
 * Runs its own redis-server (Debian's, on a Unix socket), or with `REDIS_CLUSTER=3` a Redis
 * Cluster of that many masters on 127.0.0.1: then Redis's figures are summed over the masters,
 * and the busiest master's CPU is shown beside the sum.
 */
import { RedisSessionStore } from "@tether/cluster-redis";
import type { ServerSession } from "@tether/core";
import type { Redis } from "ioredis";
import { startRedisCluster } from "../../../test/support/redis-cluster.js";
import { startRedis } from "../../../test/support/redis-server.js";
import { fmt } from "../stats.js";
import { storeContext } from "./store-context.js";

const SIZES = (process.env.SIZES ?? "5000,20000,50000").split(",").map(Number);
const SECONDS = Number(process.env.SECONDS ?? 20);
const T = 30_000;
const TICK = 2000;
const SERVERS = 3;
const MASTERS = Number(process.env.REDIS_CLUSTER ?? 0);
/** Touch rounds per second: each round touches the sessions whose Ping falls in it. */
const ROUNDS_PER_SECOND = 20;

const context = storeContext(TICK, 20 * TICK);

interface RedisFigures {
  cpuSeconds: number;
  /** The busiest master's (the only one's, on one Redis). */
  maxCpuSeconds: number;
  usedMemory: number;
  calls: Map<string, number>;
}

/** Redis's figures summed over `masters`. */
async function redisFigures(masters: Redis[]): Promise<RedisFigures> {
  const each = await Promise.all(masters.map(nodeFigures));
  const calls = new Map<string, number>();
  for (const figures of each)
    for (const [name, n] of figures.calls) calls.set(name, (calls.get(name) ?? 0) + n);
  return {
    cpuSeconds: each.reduce((sum, f) => sum + f.cpuSeconds, 0),
    maxCpuSeconds: Math.max(...each.map((f) => f.cpuSeconds)),
    usedMemory: each.reduce((sum, f) => sum + f.usedMemory, 0),
    calls,
  };
}

async function nodeFigures(admin: Redis): Promise<Omit<RedisFigures, "maxCpuSeconds">> {
  const cpu = await admin.info("cpu");
  const memory = await admin.info("memory");
  const stats = await admin.info("commandstats");
  const field = (text: string, name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(text)?.[1]);
  const calls = new Map<string, number>();
  for (const match of stats.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm))
    calls.set(match[1] as string, Number(match[2]));
  return {
    cpuSeconds: field(cpu, "used_cpu_user") + field(cpu, "used_cpu_sys"),
    usedMemory: field(memory, "used_memory"),
    calls,
  };
}

async function measure(sessions: number): Promise<void> {
  const redis = MASTERS > 0 ? await startRedisCluster(MASTERS) : await startRedis();
  const admin = redis.masters();
  const stores = Array.from(
    { length: SERVERS },
    (_, i) => new RedisSessionStore(context, { redis: redis.connection, prefix: "cap:", serverId: `s${i}` }),
  );
  try {
    await Promise.all(stores.map((store) => store.ready));
    const before = await redisFigures(admin);
    const opened: [RedisSessionStore, ServerSession][] = [];
    for (let i = 0; i < sessions; i += 500) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(500, sessions - i) }, async (_, k) => {
          const store = stores[(i + k) % SERVERS] as RedisSessionStore;
          return [store, await store.open(T, null)] as [RedisSessionStore, ServerSession];
        }),
      );
      opened.push(...batch);
    }
    const afterOpen = await redisFigures(admin);
    await Promise.all(admin.map((master) => master.config("RESETSTAT")));
    const start = await redisFigures(admin);
    const cpu = process.cpuUsage();
    const began = performance.now();
    // Every session once per T/3, spread over the rounds of that interval.
    const roundsPerPing = (T / 3 / 1000) * ROUNDS_PER_SECOND;
    for (let round = 0; performance.now() - began < SECONDS * 1000; round++) {
      const slot = round % roundsPerPing;
      for (let i = slot; i < opened.length; i += roundsPerPing) {
        const [store, session] = opened[i] as [RedisSessionStore, ServerSession];
        store.touch(session);
      }
      await new Promise((resolve) => setTimeout(resolve, 1000 / ROUNDS_PER_SECOND));
    }
    const elapsed = (performance.now() - began) / 1000;
    const used = process.cpuUsage(cpu);
    const end = await redisFigures(admin);
    const ticks = elapsed / (TICK / 1000);
    const redisCpu = ((end.cpuSeconds - start.cpuSeconds) / elapsed) * 100;
    const busiest = ((end.maxCpuSeconds - start.maxCpuSeconds) / elapsed) * 100;
    const bytesPerSession = (afterOpen.usedMemory - before.usedMemory) / sessions;
    const perTick = [...end.calls]
      .filter(([name]) => name !== "info" && name !== "config")
      .map(([name, calls]) => `${name} ${fmt(calls / ticks / SERVERS, 1)}`)
      .join(", ");
    const nodeCpu = ((used.user + used.system) / 1e6 / elapsed) * 100;
    console.log(
      `| ${sessions.toLocaleString("en-US")} | ${fmt(redisCpu, 2)}%${MASTERS > 0 ? ` (busiest ${fmt(busiest, 2)}%)` : ""} | ${fmt(bytesPerSession, 0)} B | ${perTick} | ${fmt(nodeCpu, 2)}% |`,
    );
  } finally {
    await Promise.all(stores.map((store) => store.close()));
    for (const master of admin) master.disconnect();
    await redis.stop();
  }
}

console.log(
  `bench/cluster-capacity: ${SERVERS} stores on ${MASTERS > 0 ? `a Redis Cluster of ${MASTERS} masters` : "one Redis"}, T = ${T / 1000} s, tick ${TICK / 1000} s, each session touched every T/3, ${SECONDS} s per size`,
);
console.log(
  "| idle sessions | Redis CPU (one core) | Redis memory per session | Redis calls per tick per server | stores' CPU (this process) |",
);
console.log("| ---: | ---: | ---: | --- | ---: |");
for (const size of SIZES) await measure(size);

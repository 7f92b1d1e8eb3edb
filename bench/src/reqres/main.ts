/**
 * bench/reqres: request/response throughput and latency. Each server runs in its own process
 * (forked per run); this process is the load generator. Every figure is compared with the
 * baseline measured in the same run:
 *   tether-tcp vs raw-net (length-prefixed msgpack on node:net, no sessions),
 *   tether-tcp-redis (sessions in Redis: every request admitted and answered through it) vs tether-tcp,
 *   tether-tcp-redis-reads (the same, the echo registered idempotent: no Redis call per request)
 *   vs tether-tcp (whose echo is not),
 *   tether-ws vs raw-ws (ws echo, one message per reply), and both against socket.io emitWithAck.
 * Each variant runs ROUNDS times (default 2, the variants in turn) and reports its best round.
 * IDEMPOTENT=1 registers Tether's echo as idempotent (answers not kept for a resume).
 * Client and servers run the built packages (`dist`, what users run; the script builds them
 * first): run from source through tsx, every closure made gets its name set at creation.
 */
import { cpus } from "node:os";
import { startRedis } from "../../../test/support/redis-server.js";
import { runLoad } from "./load.js";
import { startServerProcess } from "./server-process.js";
import { VARIANTS, type Variant } from "./variants.js";

const MEASURE_MS = Number(process.env.MEASURE_MS ?? 2500);
const WARMUP_MS = Number(process.env.WARMUP_MS ?? 700);
const INFLIGHT = 64;
/** Each variant's best of this many rounds is reported (the issue's harness takes the best of two). */
const ROUNDS = Number(process.env.ROUNDS ?? 2);

async function measure(variant: Variant, clients: number, bodySize: number) {
  const server = await startServerProcess(variant, [
    // PROFILE=dir writes a V8 CPU profile of each server process there (for bench notes).
    ...(process.env.PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.PROFILE}`] : []),
    // SERVER_FLAGS="--trace-gc ..." passes Node/V8 flags to the server processes only.
    ...(process.env.SERVER_FLAGS?.split(" ").filter(Boolean) ?? []),
  ]);
  try {
    return await runLoad(variant, server.address, {
      clients,
      inflight: INFLIGHT,
      body: new Uint8Array(bodySize).fill(7),
      warmupMs: WARMUP_MS,
      measureMs: MEASURE_MS,
      serverCpu: server.cpu,
    });
  } finally {
    await server.stop();
  }
}

const verdict = (met: boolean) => (met ? "met" : "MISSED");
const fmt = (n: number, d = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
console.log(
  `reqres: ${INFLIGHT} requests in flight per client, ${MEASURE_MS} ms measured after ${WARMUP_MS} ms warm-up, ` +
    `best of ${ROUNDS} rounds (the variants in turn)` +
    (process.env.IDEMPOTENT === "1" ? "; Tether's echo registered idempotent" : ""),
);
console.log(`node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? "?"})\n`);
const variants = (process.env.VARIANTS?.split(",") ?? VARIANTS) as Variant[];
// Cluster mode's variant needs a redis-server (Debian's), one for the whole run.
const redis = variants.some((v) => v.startsWith("tether-tcp-redis")) ? await startRedis() : undefined;
if (redis !== undefined) process.env.TETHER_BENCH_REDIS = redis.path;
const lines: string[] = [];
const goals: string[] = [];
const only = process.env.ONLY?.split(",");
for (const clients of [1, 16]) {
  for (const bodySize of [100, 16 * 1024]) {
    if (only && !only.includes(`${clients}x${bodySize}`)) continue;
    // Rounds go through the variants in turn, and each keeps its best round: a run that the
    // machine slowed (another process, where the kernel ran loopback's work) counts less.
    const results = new Map<Variant, Awaited<ReturnType<typeof measure>>>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const variant of variants) {
        const result = await measure(variant, clients, bodySize);
        const best = results.get(variant);
        if (best === undefined || result.perSecond > best.perSecond) results.set(variant, result);
      }
    }
    const label = `${clients} client${clients > 1 ? "s" : ""}, ${bodySize === 100 ? "100 B" : "16 KiB"}`;
    for (const [variant, r] of results) {
      lines.push(
        `| ${label} | ${variant} | ${fmt(r.perSecond)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ` +
          `${fmt(r.serverCpuPerRequest, 2)} | ${fmt(r.loadCpuPerRequest, 2)} | ` +
          `${fmt(r.loadScavengesPerThousand, 2)} / ${fmt(r.loadMarkCompactsPerThousand, 2)} |`,
      );
    }
    const rate = (v: Variant) => results.get(v)?.perSecond ?? Number.NaN;
    const pct = (a: Variant, b: Variant) => (100 * rate(a)) / rate(b);
    const x = (a: Variant, b: Variant) => rate(a) / rate(b);
    // Server CPU per request: steadier than rates on a shared machine (it does not depend on
    // how much of the machine the server got), so each run also reports it as a multiple.
    const cpu = (a: Variant, b: Variant) =>
      (results.get(a)?.serverCpuPerRequest ?? Number.NaN) /
      (results.get(b)?.serverCpuPerRequest ?? Number.NaN);
    // The goals of the issue "Performance"; raw-ws runs the same ws as tether-ws, with bufferutil.
    const tcpRatio = pct("tether-tcp", "raw-net");
    const wsRatio = x("tether-ws", "raw-ws");
    const wsGoal = bodySize === 100 ? 2 : clients > 1 ? 1 : undefined;
    const redisRatio = pct("tether-tcp-redis", "tether-tcp");
    const readsRatio = pct("tether-tcp-redis-reads", "tether-tcp");
    goals.push(
      `| ${label} | ${fmt(tcpRatio)}% ${verdict(tcpRatio >= 95)} | ` +
        `${fmt(wsRatio, 2)}x${wsGoal === undefined ? "" : ` ${verdict(wsRatio >= wsGoal)}`} | ` +
        `${fmt(x("tether-ws", "socket.io"), 2)}x ${verdict(x("tether-ws", "socket.io") >= 3)} | ` +
        `${fmt(x("tether-tcp", "socket.io"), 2)}x | ${fmt(redisRatio)}% ${verdict(redisRatio >= 50)} | ` +
        `${fmt(readsRatio)}% | ` +
        `${fmt(cpu("tether-tcp", "raw-net"), 2)}x | ${fmt(cpu("tether-ws", "raw-ws"), 2)}x |`,
    );
  }
}
console.log(
  "| load | server | requests/s | p50 ms | p99 ms | server CPU µs/request | load generator CPU µs/request | load generator scavenges / mark-compacts per 1,000 requests |\n" +
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
);
console.log(lines.join("\n"));
console.log(
  "\n| load | tether-tcp / raw-net (goal >= 95%) | tether-ws / raw-ws (goal >= 2x at 100 B, >= 1x at 16 KiB with 16 clients) | tether-ws / socket.io (goal >= 3x) | tether-tcp / socket.io | tether-tcp-redis / tether-tcp (goal >= 50%) | tether-tcp-redis-reads / tether-tcp | server CPU/request tether-tcp / raw-net | server CPU/request tether-ws / raw-ws |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
console.log(goals.join("\n"));
await redis?.stop();

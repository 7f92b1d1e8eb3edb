/**
 * bench/server-path-ab: `server-path`'s Tether pass for two checkouts of `@tether/core` in one
 * process, passes interleaved ABBA, so a change on the request path can be judged against its
 * starting commit without the 10% drift between processes this machine shows. Each side loads
 * its own modules (and its own msgpackr) from its own tree; the benchmark's connection is this
 * tree's `BenchConnection` for both (a `Connection` is all a server needs).
 *
 *   git worktree add /tmp/base <commit> && (cd /tmp/base && npx -y pnpm@10 install --offline)
 *   npx -y pnpm@10 server-path-ab /tmp/base/packages/core/src/index.ts ../packages/core/src/index.ts
 *
 * Reported: CPU ns per request for each (fastest and median pass) and B over A. `BODY_BYTES`
 * (default 100) sets the request body's size, `REQUESTS` and `ROUNDS` the passes'.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Packr } from "msgpackr";
import { BenchConnection } from "./bench-connection.js";
import { fmt } from "./stats.js";

const [aPath, bPath] = process.argv.slice(2).map((p) => pathToFileURL(resolve(p)).href);
if (aPath === undefined || bPath === undefined) throw new Error("usage: server-path-ab <core A> <core B>");
const REQUESTS = Number(process.env.REQUESTS ?? 200_000);
const ROUNDS = Number(process.env.ROUNDS ?? 16);
const BATCH = 64;
const packr = new Packr({ useRecords: false });
const BODY_BYTES = Number(process.env.BODY_BYTES ?? 100);
const body = new Uint8Array(BODY_BYTES).fill(7);
const hello = packr.pack([1, 1, 30_000, null, null, 0, null]);
const reads = Array.from({ length: Math.ceil(REQUESTS / BATCH) }, (_, r) =>
  Array.from({ length: Math.min(BATCH, REQUESTS - r * BATCH) }, (_, i) => {
    const seq = r * BATCH + i + 1;
    return packr.pack([5, seq, "echo", body, 0, Math.max(1, seq - 64)]);
  }),
);

/** One Tether pass with the core at `url`: CPU ns per request. */
async function passWith(url: string): Promise<() => Promise<number>> {
  const core = await import(url);
  return async () => {
    const unbounded = 1 << 20;
    const server = core.createServer({
      maxConnectionsPerAddress: 0,
      maxInFlightPerConnection: unbounded,
      maxInFlightPerSession: unbounded,
    });
    server.handle("echo", (value: unknown) => value);
    const connection = new BenchConnection();
    server.accept(connection);
    connection.deliver(hello);
    await new Promise((done) => setImmediate(done)); // the Welcome
    const start = process.cpuUsage();
    for (const read of reads) {
      connection.deliver(...read);
      await Promise.resolve(); // a read batch ends at a microtask checkpoint
    }
    const used = process.cpuUsage(start);
    if (connection.answers < REQUESTS) throw new Error(`only ${connection.answers} answers`);
    await server.close();
    return ((used.user + used.system) * 1000) / REQUESTS;
  };
}

const a = await passWith(aPath);
const b = await passWith(bPath);
const ta: number[] = [];
const tb: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  // ABBA: neither side always runs first.
  if (round % 2 === 0) {
    ta.push(await a());
    tb.push(await b());
  } else {
    tb.push(await b());
    ta.push(await a());
  }
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1] as number;
console.log(`server-path-ab: ${REQUESTS} requests of ${BODY_BYTES} B per pass, ${ROUNDS} passes each, ABBA`);
console.log(`A ${aPath}: fastest ${fmt(Math.min(...ta))}, median ${fmt(median(ta))} ns/request`);
console.log(`B ${bPath}: fastest ${fmt(Math.min(...tb))}, median ${fmt(median(tb))} ns/request`);
console.log(
  `B / A: fastest ${fmt(Math.min(...tb) / Math.min(...ta), 3)}x, median ${fmt(median(tb) / median(ta), 3)}x`,
);

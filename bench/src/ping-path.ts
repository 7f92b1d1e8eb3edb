/**
 * bench/ping-path: the server's CPU per Ping with no sockets, the same path with one session
 * (always in the CPU's caches) and with SESSIONS sessions pinged in scattered order, as idle
 * clients do (each Ping finds its session's objects cold). The difference is what memory, not
 * code, costs on the idle path (see "Idle scale" in BENCHMARKS.md).
 * Reported: CPU ns per Ping, the fastest of PASSES passes, and the ratio.
 */
import { createServer, MessageType, PROTOCOL_VERSION } from "@tether/core";
import { Packr } from "msgpackr";
import { BenchConnection } from "./bench-connection.js";
import { fmt } from "./stats.js";

const SESSIONS = Number(process.env.SESSIONS ?? 19_000);
const PINGS = Number(process.env.PINGS ?? 200_000);
const PASSES = Number(process.env.PASSES ?? 5);
const packr = new Packr({ useRecords: false });
const ping = packr.pack([MessageType.Ping, 0, 0]);
// A stride coprime with any session count up to it: every session in turn, in scattered order.
const STRIDE = 7919;

async function fastestNsPerPing(sessions: number): Promise<number> {
  const server = createServer({ maxConnectionsPerAddress: 0 });
  const connections: BenchConnection[] = [];
  for (let i = 0; i < sessions; i++) {
    const connection = new BenchConnection();
    server.accept(connection);
    connection.deliver(packr.pack([MessageType.Hello, PROTOCOL_VERSION, 30_000, null, null, 0, null]));
    connections.push(connection);
  }
  await new Promise((resolve) => setImmediate(resolve)); // the Welcomes
  let fastest = Number.POSITIVE_INFINITY;
  for (let pass = 0; pass < PASSES; pass++) {
    const before = connections.reduce((sum, c) => sum + c.answers, 0);
    const start = process.cpuUsage();
    for (let i = 0; i < PINGS; i++) {
      (connections[(i * STRIDE) % sessions] as BenchConnection).deliver(ping);
      await Promise.resolve(); // each Ping is its own read batch, as on an idle server
    }
    const used = process.cpuUsage(start);
    const pongs = connections.reduce((sum, c) => sum + c.answers, 0) - before;
    if (pongs !== PINGS) throw new Error(`${pongs} Pongs for ${PINGS} Pings`);
    fastest = Math.min(fastest, ((used.user + used.system) * 1000) / PINGS);
  }
  await server.close();
  return fastest;
}

const hot = await fastestNsPerPing(1);
const cold = await fastestNsPerPing(SESSIONS);
console.log(`ping-path: ${PINGS} Pings per pass, fastest of ${PASSES} passes`);
console.log(`one session (hot):          ${fmt(hot)} ns/ping`);
console.log(`${SESSIONS} sessions (scattered): ${fmt(cold)} ns/ping`);
console.log(`scattered / hot: ${fmt(cold / hot, 2)}x`);
process.exit(0);

/**
 * bench/server-path: the server's CPU per request with no sockets, so it is steady enough to
 * measure one change by. Request frames go straight into a `TetherServer` connection (the real
 * pipeline: traffic, codec, session, dispatch; an echo handler) and the answers come out of a
 * connection that only counts them. Baseline in the same run: what raw net's echo server does
 * per request (unpack `[id, body]`, pack it back), on the same frames' bodies.
 * Reported: CPU ns per request, the fastest of several passes, and Tether's cost as a multiple of it.
 */
import { createServer, MessageType, PROTOCOL_VERSION } from "@tether/core";
import { Packr } from "msgpackr";
import { BenchConnection } from "./bench-connection.js";
import { fmt } from "./stats.js";

const REQUESTS = Number(process.env.REQUESTS ?? 200_000);
const BATCH = 64; // frames per read, as 64 requests in flight per client deliver them
const PASSES = Number(process.env.PASSES ?? 7);
const packr = new Packr({ useRecords: false });
const body = new Uint8Array(100).fill(7);

// Made once, outside the measured passes (frames are only read). The client acknowledges
// answers as they arrive: 64 behind.
const requestFrames = Array.from({ length: REQUESTS }, (_, i) =>
  packr.pack([MessageType.Request, i + 1, "echo", body, 0, Math.max(1, i + 1 - 64)]),
);
/** The request frames in reads of BATCH. */
const requestReads = Array.from({ length: Math.ceil(REQUESTS / BATCH) }, (_, r) =>
  requestFrames.slice(r * BATCH, (r + 1) * BATCH),
);
const rawFrames = Array.from({ length: REQUESTS }, (_, i) => packr.pack([i, body]));

async function tetherPass(): Promise<number> {
  const server = createServer({ maxConnectionsPerAddress: 0, maxInFlightPerConnection: 1 << 20 });
  server.handle("echo", (value) => value);
  const connection = new BenchConnection();
  server.accept(connection);
  // Wire form, as in docs/PROTOCOL.md: Hello [1, version, timeout, sessionId, password,
  // lastPushSeq, credentials]; Request [5, seq, op, body, pushAck, responseAck].
  connection.deliver(packr.pack([MessageType.Hello, PROTOCOL_VERSION, 30_000, null, null, 0, null]));
  await new Promise((resolve) => setImmediate(resolve)); // the Welcome
  const start = process.cpuUsage();
  for (const read of requestReads) {
    connection.deliver(...read);
    await Promise.resolve(); // a read batch ends at a microtask checkpoint
  }
  const ns = cpuNs(start) / REQUESTS;
  if (connection.answers < REQUESTS) throw new Error(`only ${connection.answers} answers`);
  await server.close();
  return ns;
}

function rawPass(): number {
  let sink = 0;
  const start = process.cpuUsage();
  for (const frame of rawFrames) {
    const [id, value] = packr.unpack(frame) as [number, unknown];
    sink += packr.pack([id, value]).byteLength;
  }
  const ns = cpuNs(start) / REQUESTS;
  if (sink === 0) throw new Error("nothing encoded");
  return ns;
}

/** CPU time (user + system) since `start`, in ns: other processes' load does not count. */
function cpuNs(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) * 1000;
}

const tether: number[] = [];
const raw: number[] = [];
for (let pass = 0; pass < PASSES; pass++) {
  tether.push(await tetherPass());
  // PROFILE_TETHER=1 leaves the baseline out, so a CPU profile shows Tether's path alone.
  raw.push(process.env.PROFILE_TETHER ? Number.NaN : rawPass());
}
// The fastest pass: the least disturbed by the rest of a shared machine.
const t = Math.min(...tether);
const r = Math.min(...raw);
console.log(`server-path: ${REQUESTS} requests of 100 B per pass, fastest of ${PASSES} passes`);
console.log(`tether server pipeline: ${fmt(t)} ns/request`);
console.log(`raw unpack + pack:      ${fmt(r)} ns/request`);
console.log(`tether / raw: ${fmt(t / r, 2)}x`);

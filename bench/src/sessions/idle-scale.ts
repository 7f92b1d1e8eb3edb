/**
 * bench/idle-scale: SESSIONS idle TCP sessions (T = 30 s) held for HOLD_MS. Measures the
 * server's CPU spent on heartbeats and expiry (as a share of one core) and its heap per
 * session (after full GCs, with the baseline of an empty server subtracted). Clients live in
 * two processes of their own. This machine's hard limit is 20,000 open files per process, so
 * the default is 19,000 sessions (the server needs one socket per session plus its own).
 *
 * Baseline, in the same run and first: a raw `net` server holding as many sockets, each
 * sending a Ping-sized frame every T/3 (an idle Tether client's cadence) and answered with a
 * Pong-sized frame. What Tether adds over it is sessions, expiry and the pipeline.
 *
 * The server runs the built packages (`dist`, what users run; the script builds them first),
 * not the sources through tsx: tsx's transform keeps every function's name as a property of
 * its own, which gives each closure made per connection a property store (about 250 bytes).
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createServer } from "@tether/core";
import { tcp } from "@tether/transport-tcp";
import { rawPingPongServer } from "./raw-ping-pong.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
/** Heap in use, and memory outside it (ArrayBuffers: socket and encoder buffers), after full GCs. */
const memory = () => {
  for (let i = 0; i < 3; i++) gc();
  const { heapUsed, external } = process.memoryUsage();
  return { heap: heapUsed, external };
};

const SESSIONS = Number(process.env.SESSIONS ?? 19_000);
const HOLD_MS = Number(process.env.HOLD_MS ?? 60_000);
const T = 30_000;

interface Held {
  connected: number;
  /** Server CPU while held, as a percentage of one core. */
  cpuShare: number;
  heapPerConnection: number;
  externalPerConnection: number;
}

/** Connects SESSIONS clients (two processes) to `address`, holds them, and measures. */
async function hold(
  address: string,
  mode: "tether" | "raw",
  connected: () => number,
  onHoldStart: () => void = () => {},
): Promise<Held> {
  const before = memory();
  const children = [0, 1].map((i) =>
    fork(
      fileURLToPath(new URL("./clients.ts", import.meta.url)),
      [address, String(SESSIONS / 2 + (i === 0 ? SESSIONS % 2 : 0)), String(T), mode, String(T / 3)],
      { execArgv: ["--conditions=tether-source", "--import", "tsx"] },
    ),
  );
  await Promise.all(children.map((child) => new Promise((resolve) => child.once("message", resolve))));
  // The clients are connected; the server may not have run every accept yet (bounded wait).
  for (let i = 0; i < 100 && connected() < SESSIONS; i++) await new Promise((r) => setTimeout(r, 20));
  const count = connected();
  const after = memory();
  onHoldStart();
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
  const cpu = process.cpuUsage(cpuStart);
  const wall = performance.now() - wallStart;
  await Promise.all(children.map(stop));
  return {
    connected: count,
    cpuShare: (100 * (cpu.user + cpu.system)) / 1000 / wall,
    heapPerConnection: (after.heap - before.heap) / count,
    externalPerConnection: (after.external - before.external) / count,
  };
}

function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill();
  return exited;
}

async function rawBaseline(): Promise<Held> {
  const server = await rawPingPongServer();
  const held = await hold(server.address, "raw", server.connections);
  await server.close();
  return held;
}

async function tether(): Promise<Held & { pings: number; expired: number }> {
  // Every client dials from 127.0.0.1: the per-address bounds would refuse all but the first thousand.
  const server = createServer({ tickTime: 2000, maxConnectionsPerAddress: 0, maxSessionsPerAddress: 0 });
  const { address } = await server.listen(tcp(), "127.0.0.1:0");
  let pingsStart = 0;
  const held = await hold(
    address,
    "tether",
    () => server.metrics().sessions,
    () => {
      pingsStart = server.metrics().pings;
    },
  );
  const m = server.metrics();
  await server.close();
  return { ...held, pings: m.pings - pingsStart, expired: m.sessionsEnded.expired };
}

// BASELINE=0 skips the raw run (to profile the Tether server alone).
const raw =
  process.env.BASELINE === "0"
    ? { connected: 0, cpuShare: Number.NaN, heapPerConnection: 0, externalPerConnection: 0 }
    : await rawBaseline();
const t = await tether();
const pct = (x: number) => `${x.toFixed(2)}%`;
const kib = (x: number) => `${(x / 1024).toFixed(2)} KiB`;
console.log(
  `idle-scale: ${t.connected} TCP sessions (raw baseline: ${raw.connected} sockets), T = ${T} ms, held ${HOLD_MS / 1000} s each, node ${process.version}`,
);
console.log(
  `pings answered while held: ${t.pings} (${((t.pings * 1000) / HOLD_MS).toFixed(0)}/s); sessions expired: ${t.expired}`,
);
console.log(
  `raw net server CPU:    ${pct(raw.cpuShare)} of one core; heap ${kib(raw.heapPerConnection)} ` +
    `(+ ${kib(raw.externalPerConnection)} outside it) per socket`,
);
console.log(
  `tether server CPU:     ${pct(t.cpuShare)} of one core (goal < 5%: ${t.cpuShare < 5 ? "met" : "MISSED"})`,
);
console.log(`tether / raw CPU:      ${(t.cpuShare / raw.cpuShare).toFixed(2)}x`);
console.log(
  `tether server heap:    ${kib(t.heapPerConnection)} per session (goal < 10 KiB: ${t.heapPerConnection < 10 * 1024 ? "met" : "MISSED"}), ` +
    `+ ${kib(t.externalPerConnection)} outside the heap`,
);
process.exit(0);

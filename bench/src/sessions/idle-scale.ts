/**
 * bench/idle-scale: SESSIONS idle TCP sessions (T = 30 s) held for HOLD_MS. Measures the
 * server's CPU spent on heartbeats and expiry (as a share of one core) and its heap per
 * session (after full GCs, with the baseline of an empty server subtracted). Clients live in
 * two processes of their own. This machine's hard limit is 20,000 open files per process, so
 * the default is 19,000 sessions (the server needs one socket per session plus its own).
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createServer } from "@tether/core";
import { tcp } from "@tether/transport-tcp";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const heap = () => {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
};

const SESSIONS = Number(process.env.SESSIONS ?? 19_000);
const HOLD_MS = Number(process.env.HOLD_MS ?? 60_000);
const T = 30_000;

const server = createServer({ tickTime: 2000, maxConnectionsPerAddress: 0 });
const { address } = await server.listen(tcp(), "127.0.0.1:0");
const before = heap();

const children = [0, 1].map((i) =>
  fork(
    fileURLToPath(new URL("./clients.ts", import.meta.url)),
    [address, String(SESSIONS / 2 + (i === 0 ? SESSIONS % 2 : 0)), String(T)],
    {
      execArgv: ["--conditions=tether-source", "--import", "tsx"],
    },
  ),
);
await Promise.all(children.map((child) => new Promise((resolve) => child.once("message", resolve))));
const connected = server.metrics().sessions;
const after = heap();

const cpuStart = process.cpuUsage();
const wallStart = performance.now();
const pingsStart = server.metrics().pings;
await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
const cpu = process.cpuUsage(cpuStart);
const wall = performance.now() - wallStart;
const m = server.metrics();
const share = (100 * (cpu.user + cpu.system)) / 1000 / wall;
const perSession = (after - before) / connected;

console.log(
  `idle-scale: ${connected} TCP sessions, T = ${T} ms, held ${Math.round(wall / 1000)} s, node ${process.version}`,
);
console.log(
  `pings answered while held: ${m.pings - pingsStart} (${(((m.pings - pingsStart) * 1000) / wall).toFixed(0)}/s); sessions expired: ${m.sessionsEnded.expired}`,
);
console.log(`server CPU: ${share.toFixed(2)}% of one core (goal < 5%: ${share < 5 ? "met" : "MISSED"})`);
console.log(
  `server heap: ${(perSession / 1024).toFixed(2)} KiB per session (goal < 10 KiB: ${perSession < 10 * 1024 ? "met" : "MISSED"})`,
);
for (const child of children) child.kill();
await server.close();
process.exit(0);

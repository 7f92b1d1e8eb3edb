/**
 * bench/idle-scale: SESSIONS idle TCP sessions (T = 30 s) held for HOLD_MS. Measures the
 * server's CPU spent on heartbeats and expiry (as a share of one core) and its heap per
 * session (after full GCs, with the baseline of an empty server subtracted).
 *
 * Baseline, side by side: a raw `net` server holding as many sockets, each sending a
 * Ping-sized frame every T/3 (an idle Tether client's cadence) and answered with a Pong-sized
 * frame. What Tether adds over it is sessions, expiry and the pipeline. Each server runs in a
 * process of its own and each crowd of clients in two more; both crowds connect and are held
 * at the same time, and both servers' CPU is read over the same window, so what the machine
 * does meanwhile (another process, the kernel's own work) falls on both alike. This machine's
 * hard limit is 20,000 open files per process, so the default is 19,000 sessions (a server
 * needs one socket per session plus its own).
 *
 * `CROWD=wire` gives the Tether server plain sockets that speak its protocol on the raw crowd's
 * very timers (same arrivals, so only the servers differ); `PROFILE=dir` has both servers write
 * CPU profiles there. `SERVER_FLAGS` passes Node flags to both servers and prints their pids, for
 * a sampler that attaches to each (`SERVER_FLAGS=--perf-basic-prof`, then `perf record -t <pid>`:
 * it sees what a cold Ping costs, which V8's own profiler, slowing every call, hides).
 *
 * The servers run the built packages (`dist`, what users run; the script builds them first),
 * not the sources through tsx: tsx's transform keeps every function's name as a property of
 * its own, which gives each closure made per connection a property store (about 250 bytes).
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { IdleServerCpu, IdleServerMemory, IdleServerQuestion } from "./idle-server.js";

const SESSIONS = Number(process.env.SESSIONS ?? 19_000);
const HOLD_MS = Number(process.env.HOLD_MS ?? 60_000);
const T = 30_000;
/** `wire`: Tether's crowd is `clients.ts`'s `wire` mode, on the raw crowd's very timers. */
const CROWD = process.env.CROWD ?? "tether";
/** A directory: each server writes a CPU profile there when it stops. */
const PROFILE = process.env.PROFILE;
/** Node flags for both servers, split on spaces. */
const SERVER_FLAGS = process.env.SERVER_FLAGS?.split(" ").filter((flag) => flag !== "") ?? [];
type Mode = "raw" | "tether";

/** A server process and what it answers. */
class IdleServer {
  readonly #child: ChildProcess;
  readonly address: Promise<string>;

  constructor(readonly mode: Mode) {
    this.#child = fork(fileURLToPath(new URL("./idle-server.ts", import.meta.url)), [mode], {
      execArgv: [
        ...(PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE}`] : []),
        ...SERVER_FLAGS,
        "--import",
        "tsx",
      ],
    });
    if (SERVER_FLAGS.length > 0) console.log(`${mode} server: pid ${this.#child.pid}`);
    this.address = new Promise((resolve) =>
      this.#child.once("message", (m) => resolve((m as { address: string }).address)),
    );
  }

  ask(question: "memory"): Promise<IdleServerMemory>;
  ask(question: "cpu"): Promise<IdleServerCpu>;
  ask(question: IdleServerQuestion): Promise<unknown> {
    return new Promise((resolve) => {
      this.#child.once("message", resolve);
      this.#child.send(question);
    });
  }

  stop(): Promise<void> {
    return stop(this.#child);
  }
}

/** Connects this server's crowd (two client processes); resolves when all are connected. */
function crowd(address: string, mode: Mode): Promise<ChildProcess[]> {
  const children = [0, 1].map((i) =>
    fork(
      fileURLToPath(new URL("./clients.ts", import.meta.url)),
      [
        address,
        String(SESSIONS / 2 + (i === 0 ? SESSIONS % 2 : 0)),
        String(T),
        mode === "tether" ? CROWD : mode,
        String(T / 3),
      ],
      { execArgv: ["--conditions=tether-source", "--import", "tsx"] },
    ),
  );
  return Promise.all(
    children.map(
      (child) => new Promise<ChildProcess>((resolve) => child.once("message", () => resolve(child))),
    ),
  );
}

function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill();
  return exited;
}

interface Held {
  connected: number;
  /** Server CPU while held, as a percentage of one core. */
  cpuShare: number;
  heapPerConnection: number;
  externalPerConnection: number;
  pings: number;
  expired: number;
}

const servers = [new IdleServer("raw"), new IdleServer("tether")] as const;
const addresses = await Promise.all(servers.map((server) => server.address));
const empty = await Promise.all(servers.map((server) => server.ask("memory")));
const crowds = await Promise.all(servers.map((server, i) => crowd(addresses[i] as string, server.mode)));
// The clients are connected; a server may not have run every accept yet (bounded wait).
for (let i = 0; i < 100; i++) {
  const held = await Promise.all(servers.map((server) => server.ask("cpu")));
  if (held.every((m) => m.connected >= SESSIONS)) break;
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const full = await Promise.all(servers.map((server) => server.ask("memory")));
const startCpu = await Promise.all(servers.map((server) => server.ask("cpu")));
const wallStart = performance.now();
await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
const endCpu = await Promise.all(servers.map((server) => server.ask("cpu")));
const wall = performance.now() - wallStart;
await Promise.all(crowds.flat().map(stop));
await Promise.all(servers.map((server) => server.stop()));

const [raw, tether] = servers.map((_, i): Held => {
  const before = empty[i] as IdleServerMemory;
  const after = full[i] as IdleServerMemory;
  const cpu0 = startCpu[i] as IdleServerCpu;
  const cpu1 = endCpu[i] as IdleServerCpu;
  return {
    connected: after.connected,
    cpuShare: (100 * (cpu1.cpu - cpu0.cpu)) / 1000 / wall,
    heapPerConnection: (after.heap - before.heap) / after.connected,
    externalPerConnection: (after.external - before.external) / after.connected,
    pings: cpu1.pings - cpu0.pings,
    expired: cpu1.expired,
  };
}) as [Held, Held];

const pct = (x: number) => `${x.toFixed(2)}%`;
const kib = (x: number) => `${(x / 1024).toFixed(2)} KiB`;
console.log(
  `idle-scale: ${tether.connected} TCP sessions (raw baseline: ${raw.connected} sockets), T = ${T} ms, both held side by side for ${HOLD_MS / 1000} s, node ${process.version}`,
);
console.log(
  `pings answered while held: ${tether.pings} (${((tether.pings * 1000) / HOLD_MS).toFixed(0)}/s); sessions expired: ${tether.expired}`,
);
console.log(
  `raw net server CPU:    ${pct(raw.cpuShare)} of one core; heap ${kib(raw.heapPerConnection)} ` +
    `(+ ${kib(raw.externalPerConnection)} outside it) per socket`,
);
console.log(
  `tether server CPU:     ${pct(tether.cpuShare)} of one core (goal < 5%: ${tether.cpuShare < 5 ? "met" : "MISSED"})`,
);
console.log(
  `tether / raw CPU:      ${(tether.cpuShare / raw.cpuShare).toFixed(2)}x (goal <= 1.1x: ${tether.cpuShare / raw.cpuShare <= 1.1 ? "met" : "MISSED"})`,
);
console.log(
  `tether server heap:    ${kib(tether.heapPerConnection)} per session (goal < 10 KiB: ${tether.heapPerConnection < 10 * 1024 ? "met" : "MISSED"}), ` +
    `+ ${kib(tether.externalPerConnection)} outside the heap; ${(tether.heapPerConnection / raw.heapPerConnection).toFixed(2)}x the raw server's (goal <= 2x)`,
);
process.exit(0);

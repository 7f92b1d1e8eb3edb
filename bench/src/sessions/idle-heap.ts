/**
 * bench/idle-heap: where an idle session's heap goes. Holds SESSIONS idle TCP sessions (one
 * client process), takes a heap snapshot before and after, and lists what was added per
 * session by kind of object (V8's snapshot names: a class, `closure`, `system / Context`,
 * `(object properties)`, ...), against the raw `net` ping/pong server of `idle-scale` holding
 * as many sockets, in the same run. Snapshot sizes are V8's shallow sizes: they add up to more
 * than `idle-scale`'s heapUsed difference, but they say which objects to look at.
 * Runs the built packages, as `idle-scale` does (and for the same reason).
 */
import { fork } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString, writeHeapSnapshot } from "node:v8";
import { runInNewContext } from "node:vm";
import { createServer } from "@tether/core";
import { tcp } from "@tether/transport-tcp";
import { rawPingPongServer } from "./raw-ping-pong.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const SESSIONS = Number(process.env.SESSIONS ?? 2000);
const TOP = Number(process.env.TOP ?? 25);

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Count and shallow bytes per kind of object in a heap snapshot. */
function census(): Map<string, { count: number; bytes: number }> {
  for (let i = 0; i < 3; i++) gc();
  const file = writeHeapSnapshot(
    join(tmpdir(), `tether-idle-heap-${process.pid}-${Date.now()}.heapsnapshot`),
  );
  const snapshot = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
  rmSync(file);
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ["type", "name", "self_size"].map((f) => fields.indexOf(f)) as [
    number,
    number,
    number,
  ];
  const kinds = new Map<string, { count: number; bytes: number }>();
  const { nodes, strings } = snapshot;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt] as number] as string;
    // Strings and code by their type alone: their names are their contents.
    const name = /string|code/.test(type)
      ? ""
      : (strings[nodes[i + nameAt] as number] as string).slice(0, 50);
    const kind = name === "" ? `(${type})` : `${name} (${type})`;
    const entry = kinds.get(kind) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += nodes[i + sizeAt] as number;
    kinds.set(kind, entry);
  }
  return kinds;
}

/** Holds SESSIONS clients on `address` and reports what the heap gained per connection. */
async function perConnection(address: string, mode: "tether" | "raw", connected: () => number) {
  // The first census waits in a file: held in memory, its map (a key and an entry per kind of
  // object) would be counted in the second as if the connections had made it.
  const beforeFile = join(tmpdir(), `tether-idle-heap-before-${process.pid}.json`);
  writeFileSync(beforeFile, JSON.stringify([...census()]));
  const clients = fork(
    fileURLToPath(new URL("./clients.ts", import.meta.url)),
    [address, String(SESSIONS), "30000", mode],
    { execArgv: ["--import", "tsx"] },
  );
  await new Promise((resolve) => clients.once("message", resolve));
  for (let i = 0; i < 100 && connected() < SESSIONS; i++) await new Promise((r) => setTimeout(r, 20));
  const count = connected();
  const after = census();
  const before = new Map(
    JSON.parse(readFileSync(beforeFile, "utf8")) as [string, { count: number; bytes: number }][],
  );
  rmSync(beforeFile);
  const exited = new Promise((resolve) => clients.once("exit", resolve));
  clients.kill();
  await exited;
  const rows = [...after].map(([kind, { count: n, bytes }]) => {
    const was = before.get(kind) ?? { count: 0, bytes: 0 };
    return { kind, count: (n - was.count) / count, bytes: (bytes - was.bytes) / count };
  });
  rows.sort((a, b) => b.bytes - a.bytes);
  const total = rows.reduce((sum, row) => sum + row.bytes, 0);
  return { count, total, rows };
}

async function raw() {
  const server = await rawPingPongServer();
  const result = await perConnection(server.address, "raw", server.connections);
  await server.close();
  return result;
}

async function tether() {
  const server = createServer({ tickTime: 2000, maxConnectionsPerAddress: 0, maxSessionsPerAddress: 0 });
  const { address } = await server.listen(tcp(), "127.0.0.1:0");
  const result = await perConnection(address, "tether", () => server.metrics().sessions);
  await server.close();
  return result;
}

const print = (label: string, { count, total, rows }: Awaited<ReturnType<typeof raw>>) => {
  console.log(`\n${label}: ${count} connections, ${total.toFixed(0)} B per connection (snapshot sizes)`);
  for (const row of rows.slice(0, TOP)) {
    console.log(`${row.bytes.toFixed(0).padStart(7)} B ${row.count.toFixed(2).padStart(6)}x  ${row.kind}`);
  }
};
// Each server in a process of its own: one's sockets must not linger in the other's census.
const server = process.argv[2];
if (server === "raw") print("raw net ping/pong server", await raw());
else if (server === "tether") print("tether server", await tether());
else {
  console.log(`idle-heap: ${SESSIONS} idle TCP sessions, node ${process.version}`);
  for (const mode of ["raw", "tether"]) {
    const child = fork(fileURLToPath(import.meta.url), [mode], { execArgv: ["--import", "tsx"] });
    await new Promise((resolve) => child.once("exit", resolve));
  }
}
process.exit(0);

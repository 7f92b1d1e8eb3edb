// Cluster mode in one command: three Tether servers (three processes) share their sessions
// through Redis; six clients connect; one server is killed with SIGKILL, and its clients resume
// their sessions on the others, with no request lost and none run twice.
//
//   REDIS=redis://127.0.0.1:6379 npx tsx --conditions=tether-source examples/cluster/main.ts
//
// REDIS is a URL or a Unix socket path (default redis://127.0.0.1:6379).
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createClient, type TetherClient } from "@tether/core";
import { tcp } from "@tether/transport-tcp";
import { Redis } from "ioredis";

const redis = process.env.REDIS ?? "redis://127.0.0.1:6379";
const seconds = Number(process.env.RUN_SECONDS ?? 8);
const T = 3000;

// Say so at once if there is no Redis to share sessions through.
const check = new Redis(redis, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0 });
check.on("error", () => {});
try {
  await check.connect();
  await check.ping();
} catch {
  console.error(`no Redis at ${redis}: start one (apt-get install redis-server) or set REDIS`);
  process.exit(1);
} finally {
  check.disconnect();
}

const servers = await Promise.all(
  ["s0", "s1", "s2"].map(async (name) => {
    const child = fork(fileURLToPath(new URL("./server.ts", import.meta.url)), [name, redis], {
      execArgv: ["--import", "tsx", "--conditions=tether-source"],
    });
    const { address } = await new Promise<{ address: string }>((resolve) =>
      child.once("message", (m) => resolve(m as { address: string })),
    );
    return { name, child, address };
  }),
);
console.log(`servers: ${servers.map((s) => `${s.name} at ${s.address}`).join(", ")}`);

// Two clients start on each server; each knows all three and tries the others on a drop.
const clients: { name: string; client: TetherClient; answers: number; lost: number }[] = [];
for (let i = 0; i < 6; i++) {
  const order = [0, 1, 2].map((k) => servers[(i + k) % 3] as (typeof servers)[number]);
  const client = createClient({
    servers: order.map((s) => ({ transport: tcp(), address: s.address })),
    timeout: T,
    random: () => 0.999, // keeps the list's order, so each starts where it is told
  });
  const entry = { name: `client${i}`, client, answers: 0, lost: 0 };
  clients.push(entry);
  client.on("state", (state) => console.log(`${entry.name}: ${state}`));
  await client.connected();
  console.log(`${entry.name}: session ${client.sessionId?.slice(0, 8)} on ${order[0]?.name}`);
}

// Each client adds numbers all along; every request gets its answer exactly once.
let running = true;
const loops = clients.map(async (entry) => {
  for (let n = 0; running; n++) {
    try {
      const { by } = (await entry.client.request("add", { a: n, b: 1 })) as { by: string };
      entry.answers++;
      if (n % 20 === 0) console.log(`${entry.name}: request ${n} answered by ${by}`);
    } catch (error) {
      entry.lost++;
      console.log(`${entry.name}: request ${n} failed: ${(error as Error).message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});

setTimeout(
  () => {
    console.log("killing s0 with SIGKILL");
    servers[0]?.child.kill("SIGKILL");
  },
  (seconds * 1000) / 3,
);

await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
running = false;
await Promise.all(loops);
const kept = clients.filter((c) => c.client.state === "connected").length;
const answered = clients.reduce((sum, c) => sum + c.answers, 0);
const failed = clients.reduce((sum, c) => sum + c.lost, 0);
console.log(
  `summary: ${kept} of ${clients.length} clients kept their sessions; ${answered} requests answered, ${failed} failed`,
);
await Promise.all(clients.map((c) => c.client.close()));
for (const server of servers) server.child.kill("SIGTERM");

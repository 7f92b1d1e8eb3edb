import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cluster, Redis } from "ioredis";
import { type RedisUnderTest, runRedisServer } from "./redis-server.js";

/** Redis Cluster's hash slots. */
const SLOTS = 16384;

interface Node {
  port: number;
  busPort: number;
  dir: string;
  child?: ChildProcess | undefined;
  exited?: Promise<void>;
}

/**
 * Starts a throwaway Redis Cluster of `masters` redis-server processes (no replicas) on
 * 127.0.0.1, each with a client port and a cluster-bus port the system handed out, in memory
 * only, in a fresh temporary directory; `stop()` kills them and removes it. Slots are split
 * evenly and assigned by the test itself (`CLUSTER ADDSLOTSRANGE`, `CLUSTER MEET`).
 */
export async function startRedisCluster(masters = 3): Promise<RedisUnderTest> {
  const root = mkdtempSync(join(tmpdir(), "tether-redis-cluster-"));
  const ports = await freePorts(masters * 2);
  const nodes: Node[] = Array.from({ length: masters }, (_, i) => ({
    port: ports[2 * i] as number,
    busPort: ports[2 * i + 1] as number,
    dir: join(root, `node${i}`),
  }));
  const startupNodes = nodes.map(({ port }) => ({ host: "127.0.0.1", port }));
  const killAll = async () => {
    await Promise.all(
      nodes.map(async (node) => {
        const { child, exited } = node;
        node.child = undefined;
        if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
          child.kill("SIGKILL");
          await exited;
        }
      }),
    );
  };
  const stop = async () => {
    await killAll();
    rmSync(root, { recursive: true, force: true });
  };
  const boot = async () => {
    for (const node of nodes) {
      rmSync(node.dir, { recursive: true, force: true });
      mkdirSync(node.dir, { recursive: true });
    }
    await Promise.all(nodes.map(launch));
    await formCluster(nodes);
  };
  try {
    await boot();
  } catch (error) {
    await stop();
    throw error;
  }
  const signal = (name: NodeJS.Signals) => {
    for (const node of nodes) node.child?.kill(name);
  };
  return {
    connection: { cluster: startupNodes },
    client: () => new Cluster(startupNodes, { enableAutoPipelining: true }),
    masters: () => nodes.map(({ port }) => new Redis({ host: "127.0.0.1", port })),
    pause: () => signal("SIGSTOP"),
    resume: () => signal("SIGCONT"),
    restart: async () => {
      await killAll();
      await boot();
    },
    stop,
  };
}

/** Runs one cluster node and waits until it accepts connections. */
async function launch(node: Node): Promise<void> {
  const { child, exited } = await runRedisServer([
    "--bind",
    "127.0.0.1",
    "--port",
    String(node.port),
    "--cluster-enabled",
    "yes",
    "--cluster-port",
    String(node.busPort),
    "--cluster-config-file",
    join(node.dir, "nodes.conf"),
    // Nodes paused together by a test must not declare each other failed meanwhile.
    "--cluster-node-timeout",
    "60000",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    node.dir,
  ]);
  node.child = child;
  node.exited = exited;
}

/** Splits the slots evenly over the nodes, introduces them, and waits until every node says ok. */
async function formCluster(nodes: Node[]): Promise<void> {
  const connections = nodes.map(({ port }) => new Redis({ host: "127.0.0.1", port, lazyConnect: false }));
  try {
    const share = Math.ceil(SLOTS / nodes.length);
    await Promise.all(
      connections.map((redis, i) =>
        redis.call("CLUSTER", "ADDSLOTSRANGE", i * share, Math.min(SLOTS, (i + 1) * share) - 1),
      ),
    );
    const [first] = connections as [Redis];
    for (const { port, busPort } of nodes.slice(1)) {
      await first.call("CLUSTER", "MEET", "127.0.0.1", port, busPort);
    }
    for (let attempt = 0; ; attempt++) {
      const infos = await Promise.all(connections.map((redis) => redis.call("CLUSTER", "INFO")));
      const known = await Promise.all(connections.map((redis) => redis.call("CLUSTER", "NODES")));
      const ready =
        infos.every((info) => String(info).includes("cluster_state:ok")) &&
        known.every((list) => String(list).trim().split("\n").length === nodes.length);
      if (ready) return;
      if (attempt >= 200) throw new Error(`the Redis Cluster did not form:\n${infos.join("\n")}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    for (const redis of connections) redis.disconnect();
  }
}

/** `count` distinct ports the system has free on 127.0.0.1 now. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once("error", reject);
          server.listen(0, "127.0.0.1", () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  return ports;
}

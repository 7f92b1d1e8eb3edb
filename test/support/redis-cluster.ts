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
  /** For a replica, the index of its master among the nodes. */
  replicaOf?: number;
  child?: ChildProcess | undefined;
  exited?: Promise<void>;
}

export interface RedisClusterOptions {
  /** Replicas per master. Default 0. */
  replicas?: number;
  /**
   * `cluster-node-timeout`: how long a node may be silent before the others count it failed
   * (and a replica takes over). Default 60 s, so nodes paused together by a test do not.
   */
  nodeTimeout?: number;
}

/** A test Redis Cluster, which can also lose a master for good. */
export interface RedisClusterUnderTest extends RedisUnderTest {
  /**
   * Kills master `i` (SIGKILL) and resolves once its replica has taken over its slots and
   * every surviving node says the cluster is ok. Needs `replicas` >= 1.
   */
  failMaster(i: number): Promise<void>;
}

/**
 * Starts a throwaway Redis Cluster of `masters` redis-server processes (and `replicas` per
 * master) on 127.0.0.1, each with a client port and a cluster-bus port the system handed out,
 * in memory only, in a fresh temporary directory; `stop()` kills them and removes it. Slots are
 * split evenly over the masters and assigned by the test itself (`CLUSTER ADDSLOTSRANGE`,
 * `CLUSTER MEET`, `CLUSTER REPLICATE`).
 */
export async function startRedisCluster(
  masters = 3,
  { replicas = 0, nodeTimeout = 60_000 }: RedisClusterOptions = {},
): Promise<RedisClusterUnderTest> {
  const root = mkdtempSync(join(tmpdir(), "tether-redis-cluster-"));
  const count = masters * (1 + replicas);
  const ports = await freePorts(count * 2);
  const nodes: Node[] = Array.from({ length: count }, (_, i) => ({
    port: ports[2 * i] as number,
    busPort: ports[2 * i + 1] as number,
    dir: join(root, `node${i}`),
    ...(i < masters ? {} : { replicaOf: (i - masters) % masters }),
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
    await Promise.all(nodes.map((node) => launch(node, nodeTimeout)));
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
  // A test may kill a node: its connections then report refusals, which say nothing here.
  const connect = (list: Node[]) =>
    list.map(({ port }) => new Redis({ host: "127.0.0.1", port }).on("error", () => {}));
  return {
    connection: { cluster: startupNodes },
    client: () => new Cluster(startupNodes, { enableAutoPipelining: true }).on("error", () => {}),
    masters: () => connect(nodes.filter((node) => node.replicaOf === undefined)),
    nodes: () => connect(nodes),
    failMaster: async (i) => {
      const node = nodes[i] as Node;
      const replica = nodes.find((other) => other.replicaOf === i);
      if (replica === undefined) throw new Error(`master ${i} has no replica to take over`);
      const master = new Redis({ host: "127.0.0.1", port: node.port });
      const promoted = new Redis({ host: "127.0.0.1", port: replica.port });
      try {
        // The replica has all the master wrote so far: what asynchronous replication may lose
        // in a failover is Redis's window (the guide says so), not what this test looks at.
        const offset = (text: string, field: string) => Number(new RegExp(`${field}:(\\d+)`).exec(text)?.[1]);
        const written = offset(await master.info("replication"), "master_repl_offset");
        await until(
          nodes,
          async () => offset(await promoted.info("replication"), "slave_repl_offset") >= written,
        );
        master.disconnect();
        const { child, exited } = node;
        node.child = undefined;
        child?.kill("SIGKILL");
        await exited;
        await until(nodes, async () => (await promoted.info("replication")).includes("role:master"));
      } finally {
        master.disconnect();
        promoted.disconnect();
      }
      await untilOk(nodes.filter((other) => other.child !== undefined));
    },
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
async function launch(node: Node, nodeTimeout: number): Promise<void> {
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
    "--cluster-node-timeout",
    String(nodeTimeout),
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

/**
 * Splits the slots evenly over the masters, introduces every node, makes each replica follow
 * its master, and waits until every node says ok and every replica is in sync.
 */
async function formCluster(nodes: Node[]): Promise<void> {
  const connections = nodes.map(({ port }) => new Redis({ host: "127.0.0.1", port }));
  try {
    const masters = connections.filter((_, i) => nodes[i]?.replicaOf === undefined);
    const share = Math.ceil(SLOTS / masters.length);
    await Promise.all(
      masters.map((redis, i) =>
        redis.call("CLUSTER", "ADDSLOTSRANGE", i * share, Math.min(SLOTS, (i + 1) * share) - 1),
      ),
    );
    const [first] = connections as [Redis];
    for (const { port, busPort } of nodes.slice(1)) {
      await first.call("CLUSTER", "MEET", "127.0.0.1", port, busPort);
    }
    await until(nodes, async () => {
      const known = await Promise.all(connections.map((redis) => redis.call("CLUSTER", "NODES")));
      return known.every((list) => String(list).trim().split("\n").length === nodes.length);
    });
    for (const [i, node] of nodes.entries()) {
      if (node.replicaOf === undefined) continue;
      const masterId = await connections[node.replicaOf]?.call("CLUSTER", "MYID");
      await connections[i]?.call("CLUSTER", "REPLICATE", String(masterId));
    }
    await untilOk(nodes);
    await until(nodes, async () => {
      const replication = await Promise.all(
        connections
          .filter((_, i) => nodes[i]?.replicaOf !== undefined)
          .map((redis) => redis.info("replication")),
      );
      return replication.every((info) => info.includes("master_link_status:up"));
    });
  } finally {
    for (const redis of connections) redis.disconnect();
  }
}

/** Waits until every one of `nodes` says the cluster is ok. */
async function untilOk(nodes: Node[]): Promise<void> {
  const connections = nodes.map(({ port }) => new Redis({ host: "127.0.0.1", port }));
  try {
    await until(nodes, async () => {
      const infos = await Promise.all(connections.map((redis) => redis.call("CLUSTER", "INFO")));
      return infos.every((info) => String(info).includes("cluster_state:ok"));
    });
  } finally {
    for (const redis of connections) redis.disconnect();
  }
}

/** Polls `done` every 50 ms, for at most 15 s. */
async function until(nodes: Node[], done: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    if (await done()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the Redis Cluster of ${nodes.length} nodes did not settle in 15 s`);
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

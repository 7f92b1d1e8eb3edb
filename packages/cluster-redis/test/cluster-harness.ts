import {
  REDIS_CLUSTER_PARTITIONS,
  RedisSessionBackend,
  type RedisSessionStore,
  redisSessionStore,
} from "@tether/cluster-redis";
import {
  createClient,
  createServer,
  ManualClock,
  MemorySessionBackend,
  type ServerOptions,
  type ServerSessionEndReason,
  type SessionBackend,
  type SessionStoreFactory,
  SharedSessionStore,
  silentLogger,
  type TetherClient,
  type TetherServer,
} from "@tether/core";
import { FaultyBackend } from "@tether/store-conformance";
import { createMemoryNetwork, type MemoryNetwork } from "@tether/transport-memory";
import { afterEach, expect } from "vitest";
import type { RedisForTests } from "../../../test/support/redis-for-tests.js";
import { ClusterKeys } from "../src/keys.js";

// Several servers in one process, on one ManualClock and an in-memory network, sharing a real
// redis-server (or one in-process backend). Redis answers in real time while the clock stands
// still: `run()` moves the clock in small steps and lets Redis answer after each, so every
// timing rule is exact.

export const TICK = 100;
export const T = 1000;

let prefixes = 0;

export interface Cluster {
  clock: ManualClock;
  network: MemoryNetwork;
  servers: TetherServer[];
  /** The key prefix of this cluster in Redis. */
  prefix: string;
  /** Where its keys are in Redis. */
  keys: ClusterKeys;
  /** Each server's fault wrapper, when the cluster was started `faulty`. */
  faults: FaultyBackend[];
  /** Each server's `expire` events: [session id, reason, clock time]. */
  expired: [string, ServerSessionEndReason, number][][];
  client(first: number, options?: { timeout?: number }): TetherClient;
  /** Starts one more server, listening on `address`, as `serverId` (default: the address). */
  addServer(address: string, options?: { serverId?: string }): Promise<TetherServer>;
  /** Moves the clock `ms` in steps of `step`, letting Redis answer after each. */
  run(ms: number, step?: number): Promise<void>;
}

export interface ClusterOptions
  extends Pick<ServerOptions, "maxReplay" | "maxResponses" | "maxSessionDataBytes" | "authenticate"> {
  /**
   * Where the sessions live: `redis` (the `redisSessionStore` factory, as users write it; the
   * default), `redis-faulty` (the engine on a `FaultyBackend` around Redis) or `memory-faulty`
   * (the engine on a `FaultyBackend` around one in-process backend shared by the servers).
   */
  backend?: "redis" | "redis-faulty" | "memory-faulty";
}

/** Starts clusters on `redis`, and closes every cluster and client after each test. */
export function clusterHarness(redis: RedisForTests) {
  const open: { clients: TetherClient[]; clusters: Cluster[] } = { clients: [], clusters: [] };

  afterEach(async () => {
    for (const client of open.clients.splice(0)) client.close().catch(() => {});
    for (const cluster of open.clusters.splice(0)) {
      for (const faults of cluster.faults) faults.releaseHeld();
      let closed = false;
      const closing = Promise.all(cluster.servers.map((s) => s.close())).then(() => {
        closed = true;
      });
      // Graceful closes of black-holed connections end by timeout, on the manual clock.
      for (let i = 0; i < 100 && !closed; i++) await cluster.run(100, 100);
      await closing;
    }
  });

  async function startCluster(size: number, options: ClusterOptions = {}): Promise<Cluster> {
    const { backend = "redis", ...serverOptions } = options;
    const clock = new ManualClock(1_000_000);
    const network = createMemoryNetwork({ clock });
    const prefix = `test${++prefixes}:`;
    const servers: TetherServer[] = [];
    const faults: FaultyBackend[] = [];
    const expired: [string, ServerSessionEndReason, number][][] = [];
    const shared = new MemorySessionBackend();
    const storeOf = (serverId: string): SessionStoreFactory => {
      if (backend === "redis") return redisSessionStore({ redis: redis.server.connection, prefix, serverId });
      return (context) => {
        const inner: SessionBackend =
          backend === "memory-faulty"
            ? shared
            : new RedisSessionBackend(redis.server.connection, prefix, context.logger);
        const wrapper = new FaultyBackend(inner);
        faults.push(wrapper);
        return new SharedSessionStore(context, wrapper, { serverId });
      };
    };
    const addServer = async (address: string, { serverId = address }: { serverId?: string } = {}) => {
      // Faults injected on purpose make the servers log warnings each tick: not shown.
      const logger = backend === "redis" ? {} : { logger: silentLogger };
      const server = createServer({
        clock,
        tickTime: TICK,
        ...logger,
        ...serverOptions,
        sessionStore: storeOf(serverId),
      });
      const log: [string, ServerSessionEndReason, number][] = [];
      server.on("expire", (session, reason) => log.push([session.id, reason, clock.now()]));
      server.handle("echo", (body) => body);
      await server.listen(network.transport(), address);
      await (server.store as RedisSessionStore).ready;
      servers.push(server);
      expired.push(log);
      return server;
    };
    for (let i = 0; i < size; i++) await addServer(`s${i}`);
    const run = async (ms: number, step = 10) => {
      for (let t = 0; t < ms; t += step) {
        await clock.advanceAsync(step);
        await redis.settle(4);
      }
    };
    const client = (first: number, clientOptions: { timeout?: number } = {}) => {
      // Servers in order from `first` (random() near 1 keeps the list unshuffled).
      const order = servers.map((_, i) => ({
        transport: network.transport(),
        address: `s${(first + i) % size}`,
      }));
      const c = createClient({
        servers: order,
        timeout: clientOptions.timeout ?? T,
        clock,
        random: () => 0.999,
      });
      open.clients.push(c);
      return c;
    };
    const keys = new ClusterKeys(prefix, redis.kind === "redis-cluster" ? REDIS_CLUSTER_PARTITIONS : 1);
    const cluster = { clock, network, servers, prefix, keys, faults, expired, client, addServer, run };
    open.clusters.push(cluster);
    return cluster;
  }

  return { startCluster };
}

export async function connected(cluster: Cluster, client: TetherClient): Promise<void> {
  for (let i = 0; i < 200 && client.state !== "connected"; i++) await cluster.run(10);
  expect(client.state).toBe("connected");
}

/** A client whose session starts on server `first`, connected, with the pushes it receives. */
export async function connectedClient(cluster: Cluster, first: number) {
  const client = cluster.client(first);
  const pushes: unknown[] = [];
  client.on("push", (_topic, body) => pushes.push(body));
  await connected(cluster, client);
  return { client, id: client.sessionId as string, pushes };
}

/** The index of the server carrying the client's session, or -1. */
export function carrier(cluster: Cluster, client: TetherClient): number {
  return cluster.servers.findIndex((s) => s.getSession(client.sessionId as string) !== undefined);
}

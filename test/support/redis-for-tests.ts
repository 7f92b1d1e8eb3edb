import type { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { type RedisClusterOptions, startRedisCluster } from "./redis-cluster.js";
import { type RedisUnderTest, startRedis } from "./redis-server.js";

/** A test file's redis-server: started before its tests, stopped after them. */
export interface RedisForTests {
  /** One redis-server, or a Redis Cluster. */
  readonly kind: "redis" | "redis-cluster";
  /** The server (valid inside tests and hooks). */
  readonly server: RedisUnderTest;
  /** A connection of the test's own, for looking into Redis (a `Cluster` on a Redis Cluster). */
  readonly probe: Redis | Cluster;
  /** Runs `command` on every master (one on a single Redis) and returns their replies. */
  onEveryMaster<T>(command: (master: Redis) => Promise<T>): Promise<T[]>;
  /**
   * Lets Redis commands in flight, their replies and the work they trigger, run: real-time
   * round trips while a ManualClock stands still.
   */
  settle(rounds?: number): Promise<void>;
}

/** `kind`: one redis-server (the default), or a Redis Cluster of three masters (`cluster` says how). */
export function redisForTests(
  kind: "redis" | "redis-cluster" = "redis",
  cluster: RedisClusterOptions = {},
): RedisForTests {
  let server: RedisUnderTest | undefined;
  let probe: Redis | Cluster | undefined;
  let masters: Redis[] = [];
  let nodes: Redis[] = [];
  let bus: ClusterBusBarrier | undefined;
  beforeAll(async () => {
    server = kind === "redis" ? await startRedis() : await startRedisCluster(3, cluster);
    probe = server.client();
    masters = server.masters();
    nodes = server.nodes();
    if (kind === "redis-cluster") bus = await ClusterBusBarrier.start(nodes, server.nodes());
  });
  afterAll(async () => {
    probe?.disconnect();
    for (const connection of [...masters, ...nodes]) connection.disconnect();
    bus?.close();
    await server?.stop();
  });
  return {
    kind,
    get server() {
      return server as RedisUnderTest;
    },
    get probe() {
      return probe as Redis;
    },
    onEveryMaster: (command) => Promise.all(masters.map(command)),
    async settle(rounds = 3) {
      for (let i = 0; i < rounds; i++) {
        await new Promise((resolve) => setImmediate(resolve));
        // A node a test killed is left out (its connection is not ready); one killed during
        // the call fails it once its connection gives up, which is no reason to fail the test.
        await Promise.all(nodes.filter(isReady).map((node) => node.ping().catch(() => {})));
        await bus?.pass();
      }
    },
  };
}

const BARRIER_CHANNEL = "tether-test:bus-barrier";

const isReady = (connection: Redis) => connection.status === "ready";

/**
 * On a Redis Cluster a PUBLISH reaches the other nodes over the cluster bus, which a ping does
 * not wait for. Each node forwards another's messages in order, so once a marker published on
 * every node has reached a subscriber on every node, what was published before it has too.
 */
class ClusterBusBarrier {
  readonly #heard = new Map<string, number>();
  #round = 0;

  private constructor(
    private readonly publishers: Redis[],
    private readonly listeners: Redis[],
  ) {
    for (const listener of listeners) {
      listener.on("message", (_channel: string, marker: string) => {
        this.#heard.set(marker, (this.#heard.get(marker) ?? 0) + 1);
      });
    }
  }

  static async start(publishers: Redis[], listeners: Redis[]): Promise<ClusterBusBarrier> {
    await Promise.all(listeners.map((listener) => listener.subscribe(BARRIER_CHANNEL)));
    return new ClusterBusBarrier(publishers, listeners);
  }

  /** Resolves once every node's marker reached every node (or 500 ms passed: a node restarting). */
  async pass(): Promise<void> {
    const round = ++this.#round;
    const publishers = this.publishers.filter(isReady);
    const listening = this.listeners.filter(isReady).length;
    const markers = publishers.map((_, i) => `${round}:${i}`);
    await Promise.all(
      publishers.map((publisher, i) =>
        publisher.publish(BARRIER_CHANNEL, markers[i] as string).catch(() => {}),
      ),
    );
    const deadline = performance.now() + 500;
    const heardAll = () => markers.every((marker) => (this.#heard.get(marker) ?? 0) >= listening);
    while (!heardAll() && performance.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    for (const marker of markers) this.#heard.delete(marker);
  }

  close(): void {
    for (const listener of this.listeners) listener.disconnect();
  }
}

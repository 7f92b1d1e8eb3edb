import type { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { startRedisCluster } from "./redis-cluster.js";
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

/** `kind`: one redis-server (the default), or a Redis Cluster of three masters. */
export function redisForTests(kind: "redis" | "redis-cluster" = "redis"): RedisForTests {
  let server: RedisUnderTest | undefined;
  let probe: Redis | Cluster | undefined;
  let masters: Redis[] = [];
  beforeAll(async () => {
    server = kind === "redis" ? await startRedis() : await startRedisCluster(3);
    probe = server.client();
    masters = server.masters();
  });
  afterAll(async () => {
    probe?.disconnect();
    for (const master of masters) master.disconnect();
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
        await Promise.all(masters.map((master) => master.ping()));
        // A PUBLISH reaches other nodes over the cluster bus, which a ping does not wait for.
        if (kind === "redis-cluster") await new Promise((resolve) => setTimeout(resolve, 1));
      }
    },
  };
}

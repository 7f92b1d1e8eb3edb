// The Redis store against the store conformance suite, with the faults only a shared backend
// has: Redis frozen (CLIENT PAUSE of writes), Redis restarted empty (FLUSHALL), and its
// replies spoiled by the fault wrapper; and its request primitives against their contract. On
// one redis-server or on a Redis Cluster.
import { RedisSessionBackend } from "@tether/cluster-redis";
import { ManualClock, SharedSessionStore, silentLogger } from "@tether/core";
import { describeRequestContract, describeStoreConformance, FaultyBackend } from "@tether/store-conformance";
import { redisForTests } from "../support/redis-for-tests.js";

export function describeRedisConformance(kind: "redis" | "redis-cluster"): void {
  const redis = redisForTests(kind);
  let runs = 0;

  describeStoreConformance({
    name: kind === "redis" ? "Redis store" : "Redis store on a Redis Cluster",
    setup: () => {
      const clock = new ManualClock();
      const prefix = `conformance${++runs}:`;
      let faults: FaultyBackend | undefined;
      return {
        clock,
        store: () => (context) => {
          faults = new FaultyBackend(
            new RedisSessionBackend(redis.server.connection, prefix, context.logger),
          );
          return new SharedSessionStore(context, faults);
        },
        // Redis answers in real time: each step of the clock lets its round trips run.
        advance: async (ms) => {
          for (let left = ms; left > 0; left -= 50) {
            await clock.advanceAsync(Math.min(50, left));
            await redis.settle();
          }
          if (ms === 0) await redis.settle();
        },
        // Touches reach Redis once a tick, and a claim waits a tick past the deadline.
        expiryLag: 500 + 50,
        freeze: async (ms) => {
          await redis.onEveryMaster((master) => master.call("CLIENT", "PAUSE", String(ms), "WRITE"));
        },
        wipe: async () => {
          await redis.onEveryMaster((master) => master.flushall());
        },
        faults: () => faults as FaultyBackend,
      };
    },
  });

  describeRequestContract({
    name: kind === "redis" ? "Redis backend" : "Redis backend on a Redis Cluster",
    backend: () => new RedisSessionBackend(redis.server.connection, `contract${++runs}:`, silentLogger),
  });
}

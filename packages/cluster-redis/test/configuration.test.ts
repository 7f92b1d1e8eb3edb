import { RedisSessionBackend, redisSessionStore } from "@tether/cluster-redis";
import { ConfigurationError, createServer, silentLogger } from "@tether/core";
import { Cluster, type Redis } from "ioredis";
import { describe, expect, it } from "vitest";

describe("cluster store configuration", () => {
  it("takes an ioredis Cluster as a Redis Cluster, not as options for 127.0.0.1:6379", async () => {
    const cluster = new Cluster([{ host: "127.0.0.1", port: 1 }], { lazyConnect: true });
    try {
      const backend = new RedisSessionBackend(cluster, "conf:", silentLogger);
      expect(backend.partitions).toBeGreaterThan(1);
    } finally {
      cluster.disconnect();
    }
  });

  it("refuses a Cluster client from another copy of ioredis instead of quietly connecting to 127.0.0.1:6379", () => {
    // What ioredis's Cluster looks like to code that cannot tell it by its class.
    const foreign = { isCluster: true, options: {} } as unknown as Redis;
    expect(() => createServer({ sessionStore: redisSessionStore({ redis: foreign }) })).toThrow(
      ConfigurationError,
    );
    expect(() => createServer({ sessionStore: redisSessionStore({ redis: foreign }) })).toThrow(
      /another copy of ioredis/,
    );
  });
});

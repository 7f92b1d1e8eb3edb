import { redisSessionStore } from "@tether/cluster-redis";
import { ConfigurationError, createServer } from "@tether/core";
import { Cluster, type Redis } from "ioredis";
import { describe, expect, it } from "vitest";

describe("cluster store configuration", () => {
  it("refuses an ioredis Cluster instead of quietly connecting to 127.0.0.1:6379", async () => {
    const cluster = new Cluster([{ host: "127.0.0.1", port: 1 }], { lazyConnect: true });
    try {
      // Passed from JavaScript, or through a cast: the types do not allow it.
      const redis = cluster as unknown as Redis;
      expect(() => createServer({ sessionStore: redisSessionStore({ redis }) })).toThrow(ConfigurationError);
      expect(() => createServer({ sessionStore: redisSessionStore({ redis }) })).toThrow(/Redis Cluster/);
    } finally {
      cluster.disconnect();
    }
  });
});

import { redisSessionStore } from "@tether/cluster-redis";
import type { ManualClock } from "@tether/core";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, it } from "vitest";
import { chaosSoak } from "../support/chaos-soak.js";
import { type RedisUnderTest, startRedis } from "../support/redis-server.js";

// The chaos soak with sessions in Redis: the same faults, the same guarantees. Redis answers
// in real time while the manual clock stands still, so the clock moves in 10 ms steps and
// waits for Redis after each.
let redis: RedisUnderTest;
let probe: Redis;
beforeAll(async () => {
  redis = await startRedis();
  probe = redis.client();
});
afterAll(async () => {
  probe?.disconnect();
  await redis?.stop();
});

async function advance(clock: ManualClock, ms: number): Promise<void> {
  for (let left = ms; left > 0; left -= 10) {
    await clock.advanceAsync(Math.min(10, left));
    for (let i = 0; i < 2; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      await probe.ping();
    }
  }
}

describe("chaos soak with sessions in Redis (memory transport, ManualClock)", () => {
  it("keeps every guarantee through black-holes, resets, partitions, latency and drops", async () => {
    const summary = await chaosSoak({
      chaosMs: 20_000,
      serverOptions: () => ({
        sessionStore: redisSessionStore({ redis: { path: redis.path }, prefix: "chaos:" }),
      }),
      advance,
    });
    console.log(summary);
  }, 120_000);
});

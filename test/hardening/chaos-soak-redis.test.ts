import { redisSessionStore } from "@tether/cluster-redis";
import type { ManualClock } from "@tether/core";
import { describe, it } from "vitest";
import { chaosSoak } from "../support/chaos-soak.js";
import { redisForTests } from "../support/redis-for-tests.js";

// The chaos soak with sessions in Redis: the same faults, the same guarantees. Redis answers
// in real time while the manual clock stands still, so the clock moves in 10 ms steps and
// waits for Redis after each.
const redis = redisForTests();

async function advance(clock: ManualClock, ms: number): Promise<void> {
  for (let left = ms; left > 0; left -= 10) {
    await clock.advanceAsync(Math.min(10, left));
    await redis.settle(2);
  }
}

describe("chaos soak with sessions in Redis (memory transport, ManualClock)", () => {
  it("keeps every guarantee through black-holes, resets, partitions, latency and drops", async () => {
    const summary = await chaosSoak({
      chaosMs: 20_000,
      serverOptions: () => ({
        sessionStore: redisSessionStore({ redis: redis.server.connection, prefix: "chaos:" }),
      }),
      advance,
    });
    console.log(summary);
  }, 120_000);
});

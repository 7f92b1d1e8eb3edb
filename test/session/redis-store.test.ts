import { redisSessionStore } from "@tether/cluster-redis";
import { ManualClock } from "@tether/core";
import { createMemoryNetwork } from "@tether/transport-memory";
import type { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { type RedisUnderTest, startRedis } from "../support/redis-server.js";
import { describeSessionSuite } from "./session-suite.js";

// The whole session suite with sessions in Redis (cluster mode, one server): the protocol's
// rules hold whichever store keeps the sessions. ManualClock and the memory network as in the
// memory run; Redis answers in real time, so each step of the clock waits for it.

let redis: RedisUnderTest;
let probe: Redis;
let runs = 0;

beforeAll(async () => {
  redis = await startRedis();
  probe = redis.client();
});

afterAll(async () => {
  probe?.disconnect();
  await redis?.stop();
});

/** Lets in-flight Redis commands, their replies and what they trigger, run. */
async function io(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    await probe.ping();
  }
}

describeSessionSuite({
  name: "memory with sessions in Redis (ManualClock)",
  setup: () => {
    const clock = new ManualClock(1_000_000);
    const network = createMemoryNetwork({ clock });
    const prefix = `suite${++runs}:`;
    return {
      clock,
      manual: true,
      slack: 0,
      tickTime: 1000,
      timeout: 6000,
      network,
      transport: () => network.transport(),
      listenAddress: () => `server-${runs}`,
      serverOptions: () => ({ sessionStore: redisSessionStore({ redis: { path: redis.path }, prefix }) }),
      // One tick for touches batched elsewhere, plus a clock step: a session counts from when
      // Redis has created it, a round trip after its Hello.
      expiryLag: 1000 + 50,
      asyncStore: true,
      advance: async (ms) => {
        for (let left = ms; left > 0; left -= 50) {
          await clock.advanceAsync(Math.min(50, left));
          await io();
        }
        if (ms === 0) await io();
      },
    };
  },
});

import { redisSessionStore } from "@tether/cluster-redis";
import { redisForTests } from "../support/redis-for-tests.js";
import { describeSessionSuite, manualMemoryEnv } from "./session-suite.js";

// The whole session suite with sessions in Redis (cluster mode, one server): the protocol's
// rules hold whichever store keeps the sessions. ManualClock and the memory network as in the
// memory run; Redis answers in real time, so each step of the clock waits for it.

const redis = redisForTests();
let runs = 0;

describeSessionSuite({
  name: "memory with sessions in Redis (ManualClock)",
  setup: () => {
    const env = manualMemoryEnv(1_000_000);
    const prefix = `suite${++runs}:`;
    return {
      ...env,
      serverOptions: () => ({
        sessionStore: redisSessionStore({ redis: redis.server.connection, prefix }),
      }),
      // One tick for touches batched elsewhere, plus a clock step: a session counts from when
      // Redis has created it, a round trip after its Hello.
      expiryLag: 1000 + 50,
      asyncStore: true,
      advance: async (ms) => {
        for (let left = ms; left > 0; left -= 50) {
          await env.clock.advanceAsync(Math.min(50, left));
          await redis.settle();
        }
        if (ms === 0) await redis.settle();
      },
    };
  },
});

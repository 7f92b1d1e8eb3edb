import type { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { type RedisUnderTest, startRedis } from "./redis-server.js";

/** A test file's redis-server: started before its tests, stopped after them. */
export interface RedisForTests {
  /** The server (valid inside tests and hooks). */
  readonly server: RedisUnderTest;
  /** A connection of the test's own, for looking into Redis. */
  readonly probe: Redis;
  /**
   * Lets Redis commands in flight, their replies and the work they trigger, run: real-time
   * round trips while a ManualClock stands still.
   */
  settle(rounds?: number): Promise<void>;
}

export function redisForTests(): RedisForTests {
  let server: RedisUnderTest | undefined;
  let probe: Redis | undefined;
  beforeAll(async () => {
    server = await startRedis();
    probe = server.client();
  });
  afterAll(async () => {
    probe?.disconnect();
    await server?.stop();
  });
  return {
    get server() {
      return server as RedisUnderTest;
    },
    get probe() {
      return probe as Redis;
    },
    async settle(rounds = 3) {
      for (let i = 0; i < rounds; i++) {
        await new Promise((resolve) => setImmediate(resolve));
        await (probe as Redis).ping();
      }
    },
  };
}

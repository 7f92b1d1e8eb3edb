import { redisSessionStore } from "@tether/cluster-redis";
import { createMemoryNetwork } from "@tether/transport-memory";
import { fuzzOver } from "../support/protocol-fuzz.js";
import { redisForTests } from "../support/redis-for-tests.js";

// The protocol fuzz with sessions in Redis: the same hostile inputs, the same answers.
const redis = redisForTests();
const network = createMemoryNetwork();
let names = 0;
fuzzOver(
  "memory, sessions in Redis",
  (maxFrameBytes) => network.transport({ maxFrameBytes }),
  () => `fuzz-redis-${++names}`,
  2_000,
  () => ({ sessionStore: redisSessionStore({ redis: redis.server.connection, prefix: "fuzz:" }) }),
);

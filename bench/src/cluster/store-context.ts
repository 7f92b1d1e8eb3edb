import { wallClock } from "@tether/cluster-redis";
import { type SessionStoreContext, silentLogger } from "@tether/core";

/** What a server hands its store, for a store measured without a server: wall clock, defaults. */
export function storeContext(tickTime: number, maxSessionTimeout: number): SessionStoreContext {
  return {
    clock: wallClock,
    logger: silentLogger,
    tickTime,
    minSessionTimeout: 2 * tickTime,
    maxSessionTimeout,
    bounds: {
      maxReplay: 1024,
      maxReplayBytes: 4 << 20,
      maxResponses: 1024,
      maxResponseBytes: 4 << 20,
      maxDataBytes: 64 << 10,
    },
  };
}

import {
  type Clock,
  formatDump,
  type SessionStoreContext,
  type SessionStoreFactory,
  SharedSessionStore,
  systemClock,
} from "@tether/core";
import { type RedisConnection, RedisSessionBackend } from "./redis-session-backend.js";

export interface RedisSessionStoreOptions {
  /**
   * A Redis URL, ioredis options, a client, a Redis Cluster client (`new Cluster(nodes)`), or
   * `{ cluster: nodes, options }` for the store to connect to a Redis Cluster itself. Clients
   * passed in are left open. The store batches its own commands, so it needs no
   * `enableAutoPipelining`; on a client that has it, each of its commands costs more CPU (ioredis
   * makes a pipeline per flush, copying every defined script onto it). Default
   * `redis://127.0.0.1:6379`.
   */
  redis?: RedisConnection;
  /** Keys and channels start with this; servers that share sessions share it. Default `"tether:"`. */
  prefix?: string;
  /**
   * Time that every server reads alike: deadlines in Redis are compared across processes.
   * Default: the server's clock if it was injected (tests), else wall-clock milliseconds.
   */
  clock?: Clock;
  /** This server's name in Redis and in logs. Default: random. */
  serverId?: string;
  /** Sessions claimed per Redis call when many expire at once. Default 1000. */
  claimBatch?: number;
}

/**
 * Wall-clock milliseconds, with the process's timers: what every server of a cluster reads
 * alike. `Date.now()`, not `timeOrigin + performance.now()`: the latter keeps the offset the
 * clock had when the process started, so processes started on either side of a clock step
 * (NTP) would disagree by the step.
 */
export const wallClock: Clock = {
  now: () => Date.now(),
  setTimeout: systemClock.setTimeout,
  clearTimeout: systemClock.clearTimeout,
};

/**
 * Sessions shared by every server on one Redis: the shared session store of core on a
 * {@link RedisSessionBackend}. Any server resumes any live session; each frame's touch is
 * batched into one write per tick; expiry is claimed by a Lua script so each session ends once
 * in the cluster; pushes and answers wait in Redis until the client acknowledges them.
 */
export class RedisSessionStore extends SharedSessionStore {
  readonly #backend: RedisSessionBackend;
  readonly #clock: Clock;

  constructor(context: SessionStoreContext, options: RedisSessionStoreOptions = {}) {
    const backend = new RedisSessionBackend(options.redis, options.prefix ?? "tether:", context.logger);
    const clock = options.clock ?? (context.clock === systemClock ? wallClock : context.clock);
    super(context, backend, {
      clock,
      ...(options.serverId === undefined ? {} : { serverId: options.serverId }),
      ...(options.claimBatch === undefined ? {} : { claimBatch: options.claimBatch }),
    });
    this.#backend = backend;
    this.#clock = clock;
  }

  /** Every session of the cluster by deadline bucket (the first 10,000), marking those carried here. */
  async clusterDump(): Promise<string> {
    const buckets = await this.#backend.deadlines();
    return formatDump("in the cluster", this.#clock.now(), buckets, (id) =>
      this.get(id) ? `${id} (here)` : id,
    );
  }
}

/** The `sessionStore` option for servers that share sessions through Redis. */
export function redisSessionStore(options: RedisSessionStoreOptions = {}): SessionStoreFactory {
  return (context) => new RedisSessionStore(context, options);
}

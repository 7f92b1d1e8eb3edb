import type { Logger } from "@tether/core";
import { Cluster, type Redis, Redis as RedisClient } from "ioredis";

/** Attempts on one Redis Cluster node before the subscriber moves to another. */
const ATTEMPTS_PER_NODE = 3;

/**
 * One server's pub/sub channel, and word of every gap in it: messages published while the
 * subscription was down are gone, so after each reconnect (once the subscription is back, so
 * nothing falls between) the store re-reads what it carries.
 *
 * On one Redis the connection reconnects to it (or, with Sentinel, to the new master). On a
 * Redis Cluster a classic PUBLISH reaches every node, so a connection to any node hears the
 * channel; this one retries a node a few times, then moves to another. (ioredis's own Cluster
 * subscriber also moves, but silently: a store could not tell it had missed messages.)
 */
export class ChannelSubscriber {
  readonly #source: Redis | Cluster;
  readonly #logger: Logger;
  #connection: Redis | undefined;
  #closed = false;
  #node = 0;

  constructor(source: Redis | Cluster, logger: Logger) {
    this.#source = source;
    this.#logger = logger;
  }

  /** Resolves once subscribed; `onGap` runs after each later resubscription. */
  async subscribe(channel: string, onMessage: (raw: Buffer) => void, onGap: () => void): Promise<void> {
    let subscriptions = 0;
    const subscribed = new Promise<void>((resolve, reject) => {
      const attach = (connection: Redis) => {
        // Closed while a Cluster was still connecting: nothing may stay open after close.
        if (this.#closed) {
          connection.disconnect();
          return;
        }
        this.#connection = connection;
        connection.on("messageBuffer", (_channel: Buffer, raw: Buffer) => onMessage(raw));
        connection.on("error", (error) => this.#logger.warn({ err: error }, "redis subscriber error"));
        connection.on("ready", () => {
          connection.subscribe(channel).then(
            () => (subscriptions++ === 0 ? resolve() : onGap()),
            (error: unknown) => {
              this.#logger.warn({ err: error }, "could not subscribe");
              if (subscriptions === 0) reject(error);
            },
          );
        });
        // Only a Cluster's node connections give up (see #connect): then the next node is tried.
        connection.once("end", () => {
          if (!this.#closed) this.#connect().then(attach, reject);
        });
      };
      this.#connect().then(attach, reject);
    });
    await subscribed;
  }

  disconnect(): void {
    this.#closed = true;
    this.#connection?.disconnect();
  }

  async #connect(): Promise<Redis> {
    const source = this.#source;
    if (!(source instanceof Cluster)) return source.duplicate({ enableAutoPipelining: false });
    if (source.status !== "ready") await new Promise((ready) => source.once("ready", ready));
    const nodes = source.nodes("all");
    const node = nodes[this.#node++ % nodes.length] as Redis;
    return new RedisClient({
      ...node.options,
      lazyConnect: false,
      enableAutoPipelining: false,
      // A few attempts with back-off, then "end", and the next node.
      retryStrategy: (attempt) => (attempt > ATTEMPTS_PER_NODE ? null : Math.min(attempt * 200, 1000)),
    });
  }
}

import type { Clock, TimerHandle } from "../clock.js";
import { ExpiryQueue } from "./expiry-queue.js";

/** A connection whose client asked to be pinged (Hello `serverPings`). */
export interface PingTarget {
  /** How long the client may be quiet before it is pinged: T/3 of its session. */
  readonly quietMs: number;
  /** Sends the Ping. */
  ping(): void;
}

/**
 * Pings the connections whose clients asked for it once they have been quiet for T/3, for
 * clients whose own timers cannot be trusted (a hidden browser tab fires them up to a minute
 * late, but still hears the network at once). One bucketed queue and one timer for all of them,
 * as for session expiry: a frame costs one queue update, a quiet connection a Ping per T/3.
 */
export class ServerPinger {
  readonly #clock: Clock;
  readonly #queue: ExpiryQueue<PingTarget>;
  #timer: TimerHandle | undefined;

  constructor(clock: Clock, tickTime: number) {
    this.#clock = clock;
    this.#queue = new ExpiryQueue(tickTime, clock);
  }

  /** Connections watched now. */
  get size(): number {
    return this.#queue.size;
  }

  /** `target` was heard from (or starts to be watched): its next Ping is T/3 from now. */
  heard(target: PingTarget): void {
    this.#queue.update(target, target.quietMs);
    this.#arm();
  }

  /** `target` is gone. */
  forget(target: PingTarget): void {
    this.#queue.remove(target);
    if (this.#queue.size === 0) this.#disarm();
  }

  /** Stops pinging anyone. */
  close(): void {
    this.#disarm();
  }

  #arm(): void {
    if (this.#timer !== undefined) return;
    this.#timer = this.#clock.setTimeout(() => this.#onTimer(), this.#queue.getWaitTime());
  }

  #disarm(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #onTimer(): void {
    this.#timer = undefined;
    const now = this.#clock.now();
    while (this.#queue.getWaitTime(now) === 0) {
      for (const target of [...this.#queue.poll(now)]) {
        target.ping();
        this.#queue.update(target, target.quietMs, now); // pinged again T/3 later if still quiet
      }
      if (this.#queue.size === 0) return;
    }
    this.#arm();
  }
}

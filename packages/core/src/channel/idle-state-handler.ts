import { HOP_SLACK_MS, runWhenOnTime, type TimerHandle } from "../clock.js";
import type { CloseInfo } from "../transport/connection.js";
import { type ChannelHandler, INBOUND_PROGRESS } from "./handler.js";
import type { HandlerContext } from "./pipeline.js";

export type IdleState = "reader-idle" | "writer-idle";

/** The user event an {@link IdleStateHandler} fires. */
export interface IdleStateEvent {
  type: "idle";
  state: IdleState;
  /** True for the first event of an idle period, false for repeats. */
  first: boolean;
}

export interface IdleStateOptions {
  /** Fire `reader-idle` when nothing was read for this long. 0 or absent: off. */
  readerIdleMs?: number;
  /** Fire `writer-idle` when nothing was written for this long. 0 or absent: off. */
  writerIdleMs?: number;
  /**
   * When the last write before this handler was added went out, on the channel's clock (a
   * handshake message, say): writer idleness counts from then. Absent: from when it starts.
   */
  lastWriteAt?: number;
}

/** One direction's idleness: when it last saw traffic and the timer that watches it. */
interface Watch {
  readonly state: IdleState;
  readonly idleMs: number;
  last: number;
  /** Whether the next event starts an idle period (no traffic since the previous event). */
  first: boolean;
  timer: TimerHandle | undefined;
}

/**
 * Netty's IdleStateHandler on the channel's clock. One timer per direction, armed for the
 * remaining time rather than re-armed on every frame. Reads never postpone writer-idle, and
 * writes never reader-idle. The clock is read once per batch, not per frame: reads
 * are timed at `channelReadComplete`, as Netty does; writes at the first write of a
 * tick, which only ever times later writes of that tick as earlier (a ping comes early,
 * never late).
 */
export class IdleStateHandler implements ChannelHandler {
  readonly #reader: Watch;
  readonly #writer: Watch;
  #ctx: HandlerContext | undefined;
  #started = false;
  /** A read arrived and its `channelReadComplete` has not: the reader is busy now. */
  #reading = false;
  /** This tick's writes are timed already. */
  #writeTimed = false;
  readonly #endWriteTick = (): void => {
    this.#writeTimed = false;
  };

  readonly #lastWriteAt: number | undefined;

  constructor(options: IdleStateOptions) {
    this.#lastWriteAt = options.lastWriteAt;
    this.#reader = {
      state: "reader-idle",
      idleMs: options.readerIdleMs ?? 0,
      last: 0,
      first: true,
      timer: undefined,
    };
    this.#writer = {
      state: "writer-idle",
      idleMs: options.writerIdleMs ?? 0,
      last: 0,
      first: true,
      timer: undefined,
    };
  }

  /** When the last inbound message passed, on the channel's clock: now, inside a read. */
  get lastRead(): number {
    if (this.#reading && this.#ctx !== undefined) return this.#ctx.channel.clock.now();
    return this.#reader.last;
  }

  get lastWrite(): number {
    return this.#writer.last;
  }

  handlerAdded(ctx: HandlerContext): void {
    this.#ctx = ctx;
    if (ctx.channel.isOpen) this.#start(ctx);
  }

  handlerRemoved(ctx: HandlerContext): void {
    this.#stop(ctx);
  }

  channelActive(ctx: HandlerContext): void {
    this.#start(ctx);
    ctx.fireActive();
  }

  channelInactive(ctx: HandlerContext, info: CloseInfo): void {
    this.#stop(ctx);
    ctx.fireInactive(info);
  }

  channelRead(ctx: HandlerContext, message: unknown): void {
    this.#reading = true;
    this.#reader.first = true;
    ctx.fireRead(message);
  }

  userEvent(ctx: HandlerContext, event: unknown): void {
    // Part of a frame arrived: the peer is alive, though nothing was read whole.
    if (event === INBOUND_PROGRESS) {
      this.#reader.first = true;
      this.#readEnded(ctx);
    }
    ctx.fireUserEvent(event);
  }

  channelReadComplete(ctx: HandlerContext): void {
    if (this.#reading) this.#readEnded(ctx);
    ctx.fireReadComplete();
  }

  write(ctx: HandlerContext, message: unknown): void {
    if (!this.#writeTimed) {
      this.#writeTimed = true;
      this.#writer.last = ctx.channel.clock.now();
      queueMicrotask(this.#endWriteTick);
    }
    this.#writer.first = true;
    ctx.write(message);
  }

  #readEnded(ctx: HandlerContext): void {
    this.#reading = false;
    this.#reader.last = ctx.channel.clock.now();
  }

  #start(ctx: HandlerContext): void {
    if (this.#started) return;
    this.#started = true;
    const now = ctx.channel.clock.now();
    this.#reader.last = now;
    this.#writer.last = Math.min(now, this.#lastWriteAt ?? now);
    for (const watch of [this.#reader, this.#writer]) {
      if (watch.idleMs > 0) this.#arm(watch, watch.last + watch.idleMs - now);
    }
  }

  #stop(ctx: HandlerContext): void {
    for (const watch of [this.#reader, this.#writer]) {
      if (watch.timer !== undefined) ctx.channel.clock.clearTimeout(watch.timer);
      watch.timer = undefined;
    }
  }

  /** Judges `watch` in `delay` ms, after what arrived during a stalled loop is read. */
  #arm(watch: Watch, delay: number): void {
    const clock = (this.#ctx as HandlerContext).channel.clock;
    runWhenOnTime(clock, delay, () => this.#judge(watch), {
      slackMs: HOP_SLACK_MS,
      recoveryMs: 0,
      track: (timer) => {
        watch.timer = timer;
      },
    });
  }

  #judge(watch: Watch): void {
    const ctx = this.#ctx as HandlerContext;
    const clock = ctx.channel.clock;
    // A timer runs in a tick of its own: no write of this tick is timed yet.
    if (watch === this.#writer) this.#writeTimed = false;
    const remaining = watch.last + watch.idleMs - clock.now();
    if (remaining > 0) {
      this.#arm(watch, remaining);
      return;
    }
    this.#arm(watch, watch.idleMs);
    const first = watch.first;
    watch.first = false;
    ctx.fireUserEvent({ type: "idle", state: watch.state, first } satisfies IdleStateEvent);
  }
}

export function isIdleStateEvent(event: unknown): event is IdleStateEvent {
  return typeof event === "object" && event !== null && (event as { type?: unknown }).type === "idle";
}

import type { TimerHandle } from "../clock.js";
import type { CloseInfo } from "../transport.js";
import type { ChannelHandler } from "./handler.js";
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
}

/**
 * Netty's IdleStateHandler on the channel's clock. One timer per direction, armed for the
 * remaining time rather than re-armed on every frame: a busy channel costs one clock read per
 * frame and no timer churn. Reads never postpone writer-idle, and writes never reader-idle.
 */
export class IdleStateHandler implements ChannelHandler {
  readonly #readerIdleMs: number;
  readonly #writerIdleMs: number;
  #lastRead = 0;
  #lastWrite = 0;
  #readerTimer: TimerHandle | undefined;
  #writerTimer: TimerHandle | undefined;
  #firstReaderEvent = true;
  #firstWriterEvent = true;
  #ctx: HandlerContext | undefined;

  constructor(options: IdleStateOptions) {
    this.#readerIdleMs = options.readerIdleMs ?? 0;
    this.#writerIdleMs = options.writerIdleMs ?? 0;
  }

  /** When the last inbound message passed, on the channel's clock. */
  get lastRead(): number {
    return this.#lastRead;
  }

  get lastWrite(): number {
    return this.#lastWrite;
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
    this.#lastRead = ctx.channel.clock.now();
    this.#firstReaderEvent = true;
    ctx.fireRead(message);
  }

  write(ctx: HandlerContext, message: unknown): void {
    this.#lastWrite = ctx.channel.clock.now();
    this.#firstWriterEvent = true;
    ctx.write(message);
  }

  #start(ctx: HandlerContext): void {
    if (this.#readerTimer !== undefined || this.#writerTimer !== undefined) return;
    const now = ctx.channel.clock.now();
    this.#lastRead = now;
    this.#lastWrite = now;
    if (this.#readerIdleMs > 0) this.#armReader(this.#readerIdleMs);
    if (this.#writerIdleMs > 0) this.#armWriter(this.#writerIdleMs);
  }

  #stop(ctx: HandlerContext): void {
    const clock = ctx.channel.clock;
    if (this.#readerTimer !== undefined) clock.clearTimeout(this.#readerTimer);
    if (this.#writerTimer !== undefined) clock.clearTimeout(this.#writerTimer);
    this.#readerTimer = undefined;
    this.#writerTimer = undefined;
  }

  #armReader(delay: number): void {
    const ctx = this.#ctx as HandlerContext;
    const clock = ctx.channel.clock;
    this.#readerTimer = clock.setTimeout(() => {
      // Timers run before I/O: after a stalled event loop, what the peer sent during the stall
      // is still unread. Decide after one zero-delay hop, once the I/O phase has run.
      this.#readerTimer = clock.setTimeout(() => {
        const remaining = this.#lastRead + this.#readerIdleMs - clock.now();
        if (remaining > 0) {
          this.#armReader(remaining);
          return;
        }
        this.#armReader(this.#readerIdleMs);
        const first = this.#firstReaderEvent;
        this.#firstReaderEvent = false;
        ctx.fireUserEvent({ type: "idle", state: "reader-idle", first } satisfies IdleStateEvent);
      }, 0);
    }, delay);
  }

  #armWriter(delay: number): void {
    const ctx = this.#ctx as HandlerContext;
    this.#writerTimer = ctx.channel.clock.setTimeout(() => {
      const remaining = this.#lastWrite + this.#writerIdleMs - ctx.channel.clock.now();
      if (remaining > 0) {
        this.#armWriter(remaining);
        return;
      }
      this.#armWriter(this.#writerIdleMs);
      const first = this.#firstWriterEvent;
      this.#firstWriterEvent = false;
      ctx.fireUserEvent({ type: "idle", state: "writer-idle", first } satisfies IdleStateEvent);
    }, delay);
  }
}

export function isIdleStateEvent(event: unknown): event is IdleStateEvent {
  return typeof event === "object" && event !== null && (event as { type?: unknown }).type === "idle";
}

import { InvalidArgumentError } from "../errors.js";
import type { CloseInfo } from "../transport/connection.js";
import type { Channel } from "./channel.js";
import type { ChannelHandler } from "./handler.js";

/**
 * A handler's view of its place in the pipeline: it passes events on with `fire*` (inbound,
 * toward the last handler) and `write`/`close` (outbound, toward the connection).
 */
export class HandlerContext {
  /** @internal */ prev: HandlerContext | undefined;
  /** @internal */ next: HandlerContext | undefined;
  /** @internal Which events the handler takes (`maskOf`); 0 once removed. */ mask: number;

  constructor(
    readonly name: string,
    readonly handler: ChannelHandler,
    readonly pipeline: Pipeline,
  ) {
    this.mask = maskOf(handler);
  }

  get channel(): Channel {
    return this.pipeline.channel;
  }

  fireActive(): void {
    this.pipeline.invokeInbound(this.next, ACTIVE, undefined);
  }
  fireRead(message: unknown): void {
    this.pipeline.invokeInbound(this.next, READ, message);
  }
  fireReadComplete(): void {
    this.pipeline.invokeInbound(this.next, READ_COMPLETE, undefined);
  }
  fireInactive(info: CloseInfo): void {
    this.pipeline.invokeInbound(this.next, INACTIVE, info);
  }
  fireUserEvent(event: unknown): void {
    this.pipeline.invokeInbound(this.next, USER_EVENT, event);
  }
  fireError(error: Error): void {
    this.pipeline.invokeInbound(this.next, EXCEPTION, error);
  }
  /** Sends `message` toward the connection, through the handlers before this one. */
  write(message: unknown): void {
    this.pipeline.invokeOutbound(this.prev, WRITE, message);
  }
  close(reason?: unknown): void {
    this.pipeline.invokeOutbound(this.prev, CLOSE, reason);
  }
}

/** One bit per handler method that takes events: a context's mask says which it has. */
const ACTIVE = 1;
const READ = 2;
const READ_COMPLETE = 4;
const INACTIVE = 8;
const USER_EVENT = 16;
const EXCEPTION = 32;
const WRITE = 64;
const CLOSE = 128;
type InboundEvent =
  | typeof ACTIVE
  | typeof READ
  | typeof READ_COMPLETE
  | typeof INACTIVE
  | typeof USER_EVENT
  | typeof EXCEPTION;
type OutboundEvent = typeof WRITE | typeof CLOSE;

const INBOUND_METHODS = {
  [ACTIVE]: "channelActive",
  [READ]: "channelRead",
  [READ_COMPLETE]: "channelReadComplete",
  [INACTIVE]: "channelInactive",
  [USER_EVENT]: "userEvent",
  [EXCEPTION]: "exceptionCaught",
} as const;

/** Which events `handler` takes, decided once when it is added (Netty's ChannelHandlerMask). */
function maskOf(handler: ChannelHandler): number {
  return (
    (handler.channelActive ? ACTIVE : 0) |
    (handler.channelRead ? READ : 0) |
    (handler.channelReadComplete ? READ_COMPLETE : 0) |
    (handler.channelInactive ? INACTIVE : 0) |
    (handler.userEvent ? USER_EVENT : 0) |
    (handler.exceptionCaught ? EXCEPTION : 0) |
    (handler.write ? WRITE : 0) |
    (handler.close ? CLOSE : 0)
  );
}

export type InboundMethod =
  | "channelActive"
  | "channelRead"
  | "channelReadComplete"
  | "channelInactive"
  | "userEvent"
  | "exceptionCaught";

/**
 * Where a pipeline ends: outbound operations reach the connection, and inbound events nobody
 * consumed are reported. The channel itself (no objects or closures of its own per connection).
 */
export interface PipelineEnds {
  writeToConnection(message: unknown): void;
  closeConnection(): void;
  unhandled(method: InboundMethod, value: unknown): void;
}

/**
 * Netty's ChannelPipeline, reduced to what Tether needs. Named handlers in order; inbound
 * events enter at the first, outbound operations at the last. Handlers can be added and
 * removed while events flow.
 *
 * ```
 *   connection ──frame──▶ [first] ──▶ [codec] ──▶ [session] ──▶ [last] ──▶ (tail: dropped)
 *   connection ◀─send──── [first] ◀── [codec] ◀── [session] ◀── [last] ◀── channel.write()
 * ```
 */
export class Pipeline {
  #first: HandlerContext | undefined;
  #last: HandlerContext | undefined;
  /**
   * The events any handler takes: the union of their masks. A read's end with no handler for
   * it walks no contexts (on an idle server that walk is one more cold object per Ping).
   */
  #mask = 0;
  /** Reads entered at the head whose read has not ended (`channelReadComplete` still to come). */
  #reading = false;
  /**
   * Whether reads are ended by `fireReadComplete` (seen once: the connection signals them).
   * Until then, and for a connection that never does (a wrapper that forgets to forward it),
   * the pipeline ends each read itself at the next microtask checkpoint: every run of
   * `channelRead` is followed by exactly one `channelReadComplete`, so handlers can rely on it.
   */
  #readsEndedByConnection = false;
  /** Kept once a read was not ended by the connection: it may never end one. */
  #endReadLater: (() => void) | undefined;

  constructor(
    readonly channel: Channel,
    private readonly ends: PipelineEnds,
  ) {}

  addFirst(name: string, handler: ChannelHandler): this {
    return this.#insert(name, handler, undefined, this.#first);
  }
  addLast(name: string, handler: ChannelHandler): this {
    return this.#insert(name, handler, this.#last, undefined);
  }
  addBefore(baseName: string, name: string, handler: ChannelHandler): this {
    const base = this.#context(baseName);
    return this.#insert(name, handler, base.prev, base);
  }
  addAfter(baseName: string, name: string, handler: ChannelHandler): this {
    const base = this.#context(baseName);
    return this.#insert(name, handler, base, base.next);
  }

  /** Removes a handler by name; returns it. */
  remove(name: string): ChannelHandler {
    const ctx = this.#context(name);
    if (ctx.prev) ctx.prev.next = ctx.next;
    else this.#first = ctx.next;
    if (ctx.next) ctx.next.prev = ctx.prev;
    else this.#last = ctx.prev;
    // An event already past `ctx.prev` may still reach it: with no bits it takes none.
    ctx.mask = 0;
    this.#updateMask();
    this.#guard(ctx, () => ctx.handler.handlerRemoved?.(ctx));
    return ctx.handler;
  }

  get(name: string): ChannelHandler | undefined {
    return this.context(name)?.handler;
  }

  /**
   * Found by walking the handlers, as Netty does: a pipeline holds a few, and a map of them
   * per channel is bytes every idle connection keeps.
   */
  context(name: string): HandlerContext | undefined {
    for (let ctx = this.#first; ctx; ctx = ctx.next) if (ctx.name === name) return ctx;
    return undefined;
  }

  names(): string[] {
    const names: string[] = [];
    for (let ctx = this.#first; ctx; ctx = ctx.next) names.push(ctx.name);
    return names;
  }

  fireActive(): void {
    this.invokeInbound(this.#first, ACTIVE, undefined);
  }
  fireRead(message: unknown): void {
    if (!this.#reading) {
      this.#reading = true;
      if (!this.#readsEndedByConnection) {
        queueMicrotask(this.#endReadLater ?? (() => this.#endReadInMicrotask()));
      }
    }
    this.invokeInbound(this.#first, READ, message);
  }
  fireReadComplete(): void {
    this.#readsEndedByConnection = true;
    this.#endRead();
  }
  fireInactive(info: CloseInfo): void {
    this.#endRead(); // a read cut short by the close still ends before the channel does
    this.invokeInbound(this.#first, INACTIVE, info);
  }
  fireUserEvent(event: unknown): void {
    this.invokeInbound(this.#first, USER_EVENT, event);
  }
  fireError(error: Error): void {
    this.invokeInbound(this.#first, EXCEPTION, error);
  }
  write(message: unknown): void {
    this.invokeOutbound(this.#last, WRITE, message);
  }
  close(reason?: unknown): void {
    this.invokeOutbound(this.#last, CLOSE, reason);
  }

  /**
   * @internal Delivers an inbound event to `from` or the first handler after it that takes it;
   * past the last, to the pipeline's end. What a handler throws continues as `exceptionCaught`
   * from that handler on (and one thrown while handling an error, from the next).
   */
  invokeInbound(from: HandlerContext | undefined, event: InboundEvent, value: unknown): void {
    let ctx = from;
    while (ctx !== undefined && (ctx.mask & event) === 0) ctx = ctx.next;
    if (ctx === undefined) {
      this.ends.unhandled(INBOUND_METHODS[event], value);
      return;
    }
    try {
      callInbound(ctx, event, value);
    } catch (error) {
      this.invokeInbound(event === EXCEPTION ? ctx.next : ctx, EXCEPTION, toError(error));
    }
  }

  /**
   * @internal Delivers a write or close to `from` or the first handler before it that takes it;
   * past the first, to the connection.
   */
  invokeOutbound(from: HandlerContext | undefined, event: OutboundEvent, value: unknown): void {
    let ctx = from;
    while (ctx !== undefined && (ctx.mask & event) === 0) ctx = ctx.prev;
    try {
      if (ctx === undefined) {
        if (event === WRITE) this.ends.writeToConnection(value);
        else this.ends.closeConnection();
      } else if (event === WRITE) (ctx.handler.write as Outbound)(ctx, value);
      else (ctx.handler.close as Outbound)(ctx, value);
    } catch (error) {
      if (ctx === undefined) this.fireError(toError(error));
      else this.invokeInbound(ctx, EXCEPTION, toError(error));
    }
  }

  /** Runs a handler method; what it throws continues as `exceptionCaught`, from that handler on. */
  #guard(ctx: HandlerContext, run: () => void): void {
    try {
      run();
    } catch (error) {
      this.invokeInbound(ctx, EXCEPTION, toError(error));
    }
  }

  #endReadInMicrotask(): void {
    // Connections that end their reads do so before this runs, and need no closure kept.
    if (this.#reading && !this.#readsEndedByConnection) this.#endReadLater ??= () => this.#endRead();
    this.#endRead();
  }

  #endRead(): void {
    if (!this.#reading) return;
    this.#reading = false;
    if ((this.#mask & READ_COMPLETE) !== 0) this.invokeInbound(this.#first, READ_COMPLETE, undefined);
  }

  #updateMask(): void {
    let mask = 0;
    for (let ctx = this.#first; ctx; ctx = ctx.next) mask |= ctx.mask;
    this.#mask = mask;
  }

  #insert(
    name: string,
    handler: ChannelHandler,
    prev: HandlerContext | undefined,
    next: HandlerContext | undefined,
  ) {
    if (this.context(name) !== undefined)
      throw new InvalidArgumentError(`a handler named "${name}" is already in the pipeline`);
    const ctx = new HandlerContext(name, handler, this);
    ctx.prev = prev;
    ctx.next = next;
    if (prev) prev.next = ctx;
    else this.#first = ctx;
    if (next) next.prev = ctx;
    else this.#last = ctx;
    this.#mask |= ctx.mask;
    this.#guard(ctx, () => handler.handlerAdded?.(ctx));
    return this;
  }

  #context(name: string): HandlerContext {
    const ctx = this.context(name);
    if (ctx === undefined) throw new InvalidArgumentError(`no handler named "${name}" in the pipeline`);
    return ctx;
  }
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

type Inbound = (ctx: HandlerContext, value: unknown) => void;
type Outbound = (ctx: HandlerContext, value: unknown) => void;

/**
 * Calls the handler method for `event`: each by name, since one keyed `handler[method]` call
 * for every event goes megamorphic across the handlers' classes (BENCHMARKS.md).
 */
function callInbound(ctx: HandlerContext, event: InboundEvent, value: unknown): void {
  const handler = ctx.handler;
  switch (event) {
    case READ:
      (handler.channelRead as Inbound)(ctx, value);
      return;
    case READ_COMPLETE:
      (handler.channelReadComplete as (ctx: HandlerContext) => void)(ctx);
      return;
    case USER_EVENT:
      (handler.userEvent as Inbound)(ctx, value);
      return;
    case ACTIVE:
      (handler.channelActive as (ctx: HandlerContext) => void)(ctx);
      return;
    case INACTIVE:
      (handler.channelInactive as (ctx: HandlerContext, info: CloseInfo) => void)(ctx, value as CloseInfo);
      return;
    case EXCEPTION:
      (handler.exceptionCaught as (ctx: HandlerContext, error: Error) => void)(ctx, value as Error);
      return;
  }
}

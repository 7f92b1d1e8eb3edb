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
  /** @internal */ removed = false;

  constructor(
    readonly name: string,
    readonly handler: ChannelHandler,
    readonly pipeline: Pipeline,
  ) {}

  get channel(): Channel {
    return this.pipeline.channel;
  }

  fireActive(): void {
    this.pipeline.invokeInbound(this.next, "channelActive", undefined);
  }
  fireRead(message: unknown): void {
    this.pipeline.invokeRead(this.next, message);
  }
  fireReadComplete(): void {
    this.pipeline.invokeInbound(this.next, "channelReadComplete", undefined);
  }
  fireInactive(info: CloseInfo): void {
    this.pipeline.invokeInbound(this.next, "channelInactive", info);
  }
  fireUserEvent(event: unknown): void {
    this.pipeline.invokeInbound(this.next, "userEvent", event);
  }
  fireError(error: Error): void {
    this.pipeline.invokeInbound(this.next, "exceptionCaught", error);
  }
  /** Sends `message` toward the connection, through the handlers before this one. */
  write(message: unknown): void {
    this.pipeline.invokeWrite(this.prev, message);
  }
  close(reason?: unknown): void {
    this.pipeline.invokeClose(this.prev, reason);
  }
}

export type InboundMethod =
  | "channelActive"
  | "channelRead"
  | "channelReadComplete"
  | "channelInactive"
  | "userEvent"
  | "exceptionCaught";
type Handles<M extends "channelRead" | "write"> = NonNullable<ChannelHandler[M]>;

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
  readonly #byName = new Map<string, HandlerContext>();
  /**
   * Handlers with `channelReadComplete`, counted as they are added (Netty decides what a
   * handler skips when it is added, too). With none, a read's end walks no contexts: on an
   * idle server that walk was one more cold object per Ping (BENCHMARKS.md).
   */
  #readCompleteHandlers = 0;

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
    this.#byName.delete(name);
    if (ctx.handler.channelReadComplete !== undefined) this.#readCompleteHandlers--;
    ctx.removed = true;
    this.#guard(ctx, () => ctx.handler.handlerRemoved?.(ctx));
    return ctx.handler;
  }

  get(name: string): ChannelHandler | undefined {
    return this.#byName.get(name)?.handler;
  }

  context(name: string): HandlerContext | undefined {
    return this.#byName.get(name);
  }

  names(): string[] {
    const names: string[] = [];
    for (let ctx = this.#first; ctx; ctx = ctx.next) names.push(ctx.name);
    return names;
  }

  fireActive(): void {
    this.invokeInbound(this.#first, "channelActive", undefined);
  }
  fireRead(message: unknown): void {
    this.invokeRead(this.#first, message);
  }
  fireReadComplete(): void {
    if (this.#readCompleteHandlers > 0) this.invokeInbound(this.#first, "channelReadComplete", undefined);
  }
  fireInactive(info: CloseInfo): void {
    this.invokeInbound(this.#first, "channelInactive", info);
  }
  fireUserEvent(event: unknown): void {
    this.invokeInbound(this.#first, "userEvent", event);
  }
  fireError(error: Error): void {
    this.invokeInbound(this.#first, "exceptionCaught", error);
  }
  write(message: unknown): void {
    this.invokeWrite(this.#last, message);
  }
  close(reason?: unknown): void {
    this.invokeClose(this.#last, reason);
  }

  /** @internal Delivers an inbound event to `ctx` or the first handler after it that wants it. */
  invokeInbound(from: HandlerContext | undefined, method: InboundMethod, value: unknown): void {
    let ctx = from;
    while (ctx !== undefined && (ctx.removed || ctx.handler[method] === undefined)) ctx = ctx.next;
    if (ctx === undefined) {
      this.ends.unhandled(method, value);
      return;
    }
    const target = ctx;
    if (method === "exceptionCaught") {
      // An error thrown while handling an error skips to the next handler, so this ends.
      try {
        target.handler.exceptionCaught?.(target, value as Error);
      } catch (error) {
        this.invokeInbound(target.next, "exceptionCaught", toError(error));
      }
      return;
    }
    // Called in place, with no closure per event: this runs for every frame at every hop.
    try {
      (target.handler[method] as (c: HandlerContext, v: unknown) => void)(target, value);
    } catch (error) {
      this.invokeInbound(target, "exceptionCaught", toError(error));
    }
  }

  /**
   * @internal `invokeInbound(from, "channelRead", message)` for the event every frame makes at
   * every hop: a named method, not `handler[method]`, whose keyed lookup went megamorphic across
   * the handlers' classes (BENCHMARKS.md).
   */
  invokeRead(from: HandlerContext | undefined, message: unknown): void {
    let ctx = from;
    while (ctx !== undefined && (ctx.removed || ctx.handler.channelRead === undefined)) ctx = ctx.next;
    if (ctx === undefined) {
      this.ends.unhandled("channelRead", message);
      return;
    }
    try {
      (ctx.handler.channelRead as Handles<"channelRead">)(ctx, message);
    } catch (error) {
      this.invokeInbound(ctx, "exceptionCaught", toError(error));
    }
  }

  /**
   * @internal Delivers a write to `from` or the first handler before it that has `write`; past
   * the first handler, to the connection. Named, like `invokeRead`, for the per-frame path.
   */
  invokeWrite(from: HandlerContext | undefined, message: unknown): void {
    let ctx = from;
    while (ctx !== undefined && (ctx.removed || ctx.handler.write === undefined)) ctx = ctx.prev;
    if (ctx === undefined) {
      try {
        this.ends.writeToConnection(message);
      } catch (error) {
        this.fireError(toError(error));
      }
      return;
    }
    try {
      (ctx.handler.write as Handles<"write">)(ctx, message);
    } catch (error) {
      this.invokeInbound(ctx, "exceptionCaught", toError(error));
    }
  }

  /** @internal Delivers a close to `from` or the first handler before it that has `close`. */
  invokeClose(from: HandlerContext | undefined, reason: unknown): void {
    let ctx = from;
    while (ctx !== undefined && (ctx.removed || ctx.handler.close === undefined)) ctx = ctx.prev;
    if (ctx === undefined) {
      try {
        this.ends.closeConnection();
      } catch (error) {
        this.fireError(toError(error));
      }
      return;
    }
    try {
      (ctx.handler.close as NonNullable<ChannelHandler["close"]>)(ctx, reason);
    } catch (error) {
      this.invokeInbound(ctx, "exceptionCaught", toError(error));
    }
  }

  /** Runs a handler method; what it throws continues as `exceptionCaught`, from that handler on. */
  #guard(ctx: HandlerContext, run: () => void): void {
    try {
      run();
    } catch (error) {
      this.invokeInbound(ctx, "exceptionCaught", toError(error));
    }
  }

  #insert(
    name: string,
    handler: ChannelHandler,
    prev: HandlerContext | undefined,
    next: HandlerContext | undefined,
  ) {
    if (this.#byName.has(name))
      throw new InvalidArgumentError(`a handler named "${name}" is already in the pipeline`);
    const ctx = new HandlerContext(name, handler, this);
    ctx.prev = prev;
    ctx.next = next;
    if (prev) prev.next = ctx;
    else this.#first = ctx;
    if (next) next.prev = ctx;
    else this.#last = ctx;
    this.#byName.set(name, ctx);
    if (handler.channelReadComplete !== undefined) this.#readCompleteHandlers++;
    this.#guard(ctx, () => handler.handlerAdded?.(ctx));
    return this;
  }

  #context(name: string): HandlerContext {
    const ctx = this.#byName.get(name);
    if (ctx === undefined) throw new InvalidArgumentError(`no handler named "${name}" in the pipeline`);
    return ctx;
  }
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

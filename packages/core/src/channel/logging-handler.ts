import type { CloseInfo } from "../transport/connection.js";
import type { ChannelHandler } from "./handler.js";
import type { HandlerContext } from "./pipeline.js";

/**
 * Logs every event passing through at `debug` (errors at `warn`) on the channel's logger and
 * passes it on unchanged. Frames are logged by size, never by content: they may hold secrets.
 */
export class LoggingHandler implements ChannelHandler {
  constructor(private readonly label = "pipeline") {}

  channelActive(ctx: HandlerContext): void {
    this.#log(ctx, "active", {});
    ctx.fireActive();
  }
  channelRead(ctx: HandlerContext, message: unknown): void {
    this.#log(ctx, "read", describe(message));
    ctx.fireRead(message);
  }
  channelInactive(ctx: HandlerContext, info: CloseInfo): void {
    this.#log(ctx, "inactive", { local: info.local, error: info.error?.name });
    ctx.fireInactive(info);
  }
  userEvent(ctx: HandlerContext, event: unknown): void {
    this.#log(ctx, "user event", { event });
    ctx.fireUserEvent(event);
  }
  exceptionCaught(ctx: HandlerContext, error: Error): void {
    ctx.channel.logger.warn({ channel: ctx.channel.id, handler: this.label, err: error }, "error");
    ctx.fireError(error);
  }
  write(ctx: HandlerContext, message: unknown): void {
    this.#log(ctx, "write", describe(message));
    ctx.write(message);
  }
  close(ctx: HandlerContext, reason?: unknown): void {
    this.#log(ctx, "close", { reason });
    ctx.close(reason);
  }

  #log(ctx: HandlerContext, event: string, fields: object): void {
    ctx.channel.logger.debug({ channel: ctx.channel.id, handler: this.label, ...fields }, event);
  }
}

function describe(message: unknown): object {
  if (message instanceof Uint8Array) return { bytes: message.byteLength };
  if (Array.isArray(message)) return { message: `array(${message.length})`, tag: message[0] };
  return { message: typeof message };
}

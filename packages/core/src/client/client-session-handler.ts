import type { ChannelHandler } from "../channel/handler.js";
import { isIdleStateEvent } from "../channel/idle-state-handler.js";
import type { HandlerContext } from "../channel/pipeline.js";
import { ProtocolError, TimeoutError } from "../errors.js";
import type { Logger } from "../logger.js";
import { decodeServerMessage, MessageType, type ServerMessage } from "../session/protocol.js";
import type { CloseInfo } from "../transport/connection.js";
import type { Handshake } from "./handshake.js";

/** What the client session handler reports to the client that owns the session. */
export interface ClientSessionOwner {
  readonly logger: Logger;
  /** The Welcome arrived: the server was heard. */
  welcomed(): void;
  /** A message of the open session (anything after the Welcome). */
  message(message: ServerMessage): void;
  /** Nothing sent for T/3: time for a Ping. */
  writerIdle(): void;
}

/**
 * The client's end of one connection's pipeline: settles the attempt's handshake from the
 * Welcome or Goodbye, hands every later message to the owner, pings when the writer is idle and
 * gives the connection up when nothing was heard for 2T/3.
 */
export class ClientSessionHandler implements ChannelHandler {
  constructor(
    private readonly handshake: Handshake,
    private readonly owner: ClientSessionOwner,
  ) {}

  channelRead(_ctx: HandlerContext, value: unknown): void {
    const message = decodeServerMessage(value);
    if (this.handshake.done) {
      this.owner.message(message);
      return;
    }
    if (message.type === MessageType.Welcome) {
      this.owner.welcomed();
      this.handshake.welcome(message);
    } else if (message.type === MessageType.Goodbye) this.handshake.goodbye(message.code, message.reason);
    else throw new ProtocolError("expected Welcome");
  }

  userEvent(ctx: HandlerContext, event: unknown): void {
    if (!isIdleStateEvent(event)) return;
    if (event.state === "writer-idle") {
      this.owner.writerIdle();
      return;
    }
    // Dead, as far as we can tell. Close gracefully (what we sent still reaches a server that
    // was only stalled) but move on at once instead of waiting for the close.
    this.handshake.lose({ local: true, error: new TimeoutError("nothing heard from the server for 2T/3") });
    void ctx.channel.connection.close();
  }

  channelInactive(_ctx: HandlerContext, info: CloseInfo): void {
    this.handshake.fail(info.error?.message ?? "closed");
  }

  exceptionCaught(ctx: HandlerContext, error: Error): void {
    this.owner.logger.warn({ err: error }, "protocol error from the server");
    ctx.channel.connection.abort(error);
  }
}

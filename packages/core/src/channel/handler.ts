import type { CloseInfo } from "../transport/connection.js";
import type { HandlerContext } from "./pipeline.js";

/**
 * A pipeline stage. Inbound methods see events travelling from the connection up to the
 * application (first handler to last); outbound methods see writes and closes travelling down
 * (last to first). Every method is optional: a missing one passes the event on unchanged.
 * A handler that throws does not crash anything: the error continues as `exceptionCaught`.
 */
export interface ChannelHandler {
  handlerAdded?(ctx: HandlerContext): void;
  handlerRemoved?(ctx: HandlerContext): void;

  channelActive?(ctx: HandlerContext): void;
  channelRead?(ctx: HandlerContext, message: unknown): void;
  /**
   * The reads of one batch (one socket read, one WebSocket message) are all delivered. Every
   * run of `channelRead` is followed by exactly one, even from a connection that never signals
   * it (the pipeline then ends the read at the next microtask checkpoint).
   */
  channelReadComplete?(ctx: HandlerContext): void;
  channelInactive?(ctx: HandlerContext, info: CloseInfo): void;
  /** Out-of-band events: idle states, drain, anything a handler invents. */
  userEvent?(ctx: HandlerContext, event: unknown): void;
  exceptionCaught?(ctx: HandlerContext, error: Error): void;

  /**
   * A frame (`Uint8Array`) written below the codec may be in memory that is reused once the
   * event loop's turn ends (`encodeFrameForTurn`): a handler that holds one longer (to delay,
   * batch or inspect it later) holds a copy.
   */
  write?(ctx: HandlerContext, message: unknown): void;
  close?(ctx: HandlerContext, reason?: unknown): void;
}

/** Fired inbound when a connection can take writes again after `write` returned false. */
export const WRITABLE = Object.freeze({ type: "writable" as const });

/**
 * Fired inbound when a read brought bytes of a frame still arriving and no whole frame (the
 * connection's `readProgress`): proof that the peer is alive while a large frame crosses a
 * slow link. At most once per read.
 */
export const INBOUND_PROGRESS = Object.freeze({ type: "inbound-progress" as const });

import { Packr } from "msgpackr";
import { ProtocolError } from "../errors.js";
import type { ChannelHandler } from "./handler.js";
import type { HandlerContext } from "./pipeline.js";

/**
 * Frames ⇄ values with MessagePack (msgpackr). Plain MessagePack only (no msgpackr records
 * extension), so peers in other languages and browsers read it. A frame that does not decode
 * becomes a `ProtocolError` on the pipeline's error path.
 */
export class MessagePackCodec implements ChannelHandler {
  readonly #packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });

  channelRead(ctx: HandlerContext, message: unknown): void {
    if (!(message instanceof Uint8Array)) {
      ctx.fireRead(message);
      return;
    }
    let value: unknown;
    try {
      value = this.#packr.unpack(message);
    } catch (error) {
      throw new ProtocolError("frame is not valid MessagePack", { cause: error });
    }
    ctx.fireRead(value);
  }

  write(ctx: HandlerContext, message: unknown): void {
    ctx.write(message instanceof Uint8Array ? message : this.#packr.pack(message));
  }
}

import type { ChannelHandler } from "./handler.js";
import type { HandlerContext } from "./pipeline.js";

export interface TrafficCounts {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
}

/** Counts frames and bytes each way into shared counters. Put it first, before the codec. */
export class TrafficCounter implements ChannelHandler {
  constructor(private readonly counts: TrafficCounts) {}

  channelRead(ctx: HandlerContext, message: unknown): void {
    if (message instanceof Uint8Array) {
      this.counts.framesIn++;
      this.counts.bytesIn += message.byteLength;
    }
    ctx.fireRead(message);
  }

  write(ctx: HandlerContext, message: unknown): void {
    if (message instanceof Uint8Array) {
      this.counts.framesOut++;
      this.counts.bytesOut += message.byteLength;
    }
    ctx.write(message);
  }
}

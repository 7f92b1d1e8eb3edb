export { Channel, type ChannelEvents, type ChannelOptions } from "./channel.js";
export { EmbeddedChannel } from "./embedded-channel.js";
export { type ChannelHandler, INBOUND_PROGRESS, WRITABLE } from "./handler.js";
export {
  type IdleState,
  type IdleStateEvent,
  IdleStateHandler,
  type IdleStateOptions,
  isIdleStateEvent,
} from "./idle-state-handler.js";
export { LoggingHandler } from "./logging-handler.js";
export { decodeFrame, encodeFrame, MessagePackCodec } from "./msgpack-codec.js";
export { HandlerContext, Pipeline } from "./pipeline.js";
export { checkPlainMessagePack, DEFAULT_MAX_NESTING } from "./plain-msgpack.js";

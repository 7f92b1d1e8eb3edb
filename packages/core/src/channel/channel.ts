import { type Clock, systemClock } from "../clock.js";
import { ProtocolError } from "../errors.js";
import { LazyEventEmitter } from "../lazy-event-emitter.js";
import { type Logger, stderrLogger } from "../logger.js";
import type { CloseInfo, Connection, ConnectionReader } from "../transport/connection.js";
import { INBOUND_PROGRESS, WRITABLE } from "./handler.js";
import { type InboundMethod, Pipeline, type PipelineEnds } from "./pipeline.js";

export interface ChannelOptions {
  clock?: Clock;
  logger?: Logger;
  /**
   * Called once as the connection closes: after the pipeline's `channelInactive`, before `close`.
   * One function can serve every channel of a server, where a `close` listener would be a
   * closure and a listener record per connection.
   */
  onClose?: (channel: Channel, info: CloseInfo) => void;
}

export interface ChannelEvents {
  /** An error no handler consumed. */
  error: (error: Error) => void;
  close: (info: CloseInfo) => void;
}

let nextChannelId = 1;

/**
 * One connection and its pipeline. Frames from the connection enter the pipeline as inbound
 * reads; what the pipeline writes out must arrive at the connection as `Uint8Array` frames
 * (a codec handler does that). Call `start()` once the pipeline is built.
 */
export class Channel extends LazyEventEmitter<ChannelEvents> implements PipelineEnds, ConnectionReader {
  readonly id = nextChannelId++;
  readonly pipeline: Pipeline;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly #onCloseOption: ((channel: Channel, info: CloseInfo) => void) | undefined;
  #writable = true;
  #started = false;

  constructor(
    readonly connection: Connection,
    options: ChannelOptions = {},
  ) {
    super();
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? stderrLogger(this.clock);
    this.#onCloseOption = options.onClose;
    this.pipeline = new Pipeline(this, this);
  }

  get isOpen(): boolean {
    return this.connection.status === "open";
  }

  /** False after a write found the connection above its high-water mark, until it drains. */
  get isWritable(): boolean {
    return this.#writable;
  }

  /** Wires the connection to the pipeline and fires `channelActive`. Idempotent. */
  start(): this {
    if (this.#started) return this;
    this.#started = true;
    const connection = this.connection;
    // A connection that cannot take a reader gets listeners: methods and a context, no closures.
    if (connection.setReader?.(this) !== true) {
      connection.on("frame", this.connectionFrame, this);
      connection.on("readComplete", this.connectionReadComplete, this);
      connection.on("readProgress", this.connectionReadProgress, this);
      connection.on("drain", this.connectionDrain, this);
      connection.once("close", this.connectionClose, this);
    }
    this.pipeline.fireActive();
    if (connection.status === "closed") void connection.closed.then((info) => this.connectionClose(info));
    return this;
  }

  /** Writes a message down the whole pipeline. Returns whether the connection still takes writes. */
  write(message: unknown): boolean {
    this.pipeline.write(message);
    return this.#writable;
  }

  close(reason?: unknown): void {
    this.pipeline.close(reason);
  }

  /**
   * @internal The head of the pipeline: frames go to the connection. Overridden by embedded
   * channels.
   */
  writeToConnection(message: unknown): void {
    if (!(message instanceof Uint8Array)) {
      throw new ProtocolError(
        "a message reached the connection unencoded: is a codec missing from the pipeline?",
      );
    }
    if (this.connection.status !== "open") return; // closing: writes after close are dropped
    if (!this.connection.send(message)) this.#writable = false;
  }

  /** @internal */
  closeConnection(): void {
    void this.connection.close();
  }

  /** @internal `ConnectionReader`: the connection's events enter the pipeline. */
  connectionFrame(frame: Uint8Array): void {
    this.pipeline.fireRead(frame);
  }

  /** @internal */
  connectionReadProgress(): void {
    this.pipeline.fireUserEvent(INBOUND_PROGRESS);
  }

  /** @internal */
  connectionReadComplete(): void {
    this.pipeline.fireReadComplete();
  }

  /** @internal */
  connectionDrain(): void {
    this.#writable = true;
    this.pipeline.fireUserEvent(WRITABLE);
  }

  /** @internal */
  connectionClose(info: CloseInfo): void {
    this.pipeline.fireInactive(info);
    this.#onCloseOption?.(this, info);
    this.emit("close", info);
  }

  /** @internal The end of the pipeline: what no handler consumed. */
  unhandled(method: InboundMethod, value: unknown): void {
    if (method === "exceptionCaught") {
      const error = value as Error;
      if (this.listenerCount("error") > 0) this.emit("error", error);
      else this.logger.warn({ err: error, channel: this.id }, "unhandled error at the end of the pipeline");
    } else if (method === "channelRead") {
      this.logger.debug({ channel: this.id }, "inbound message reached the end of the pipeline unhandled");
    }
  }
}

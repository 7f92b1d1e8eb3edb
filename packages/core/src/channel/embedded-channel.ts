import { EventEmitter } from "eventemitter3";
import type { Clock } from "../clock.js";
import { copyBytes } from "../copy-bytes.js";
import type { Logger } from "../logger.js";
import type { CloseInfo, Connection, ConnectionEvents, ConnectionStatus } from "../transport/connection.js";
import { Channel } from "./channel.js";
import type { ChannelHandler } from "./handler.js";

/** A connection that goes nowhere: the embedded channel's stand-in. */
class EmbeddedConnection extends EventEmitter<ConnectionEvents> implements Connection {
  readonly transport = "embedded";
  readonly localAddress = "embedded";
  readonly remoteAddress = "embedded";
  readonly peerKey = "embedded";
  readonly bufferedAmount = 0;
  status: ConnectionStatus = "open";
  readonly closed: Promise<CloseInfo>;
  #resolve!: (info: CloseInfo) => void;

  constructor() {
    super();
    this.closed = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }
  send(): boolean {
    return true;
  }
  close(): Promise<CloseInfo> {
    this.end({ local: true });
    return this.closed;
  }
  abort(error?: Error): void {
    this.end(error === undefined ? { local: true } : { local: true, error });
  }
  pause(): void {}
  resume(): void {}
  end(info: CloseInfo): void {
    if (this.status === "closed") return;
    this.status = "closed";
    this.emit("close", info);
    this.#resolve(info);
  }
}

/**
 * Netty's EmbeddedChannel: a channel with no transport, for testing handlers alone. Inbound
 * messages go in with `writeInbound`; what reaches the end of the pipeline collects in
 * `inbound`, what reaches the connection in `outbound` (any value, not only frames).
 */
export class EmbeddedChannel extends Channel {
  readonly outbound: unknown[] = [];
  readonly inbound: unknown[] = [];
  readonly errors: Error[] = [];

  constructor(handlers: Array<[string, ChannelHandler]>, options: { clock?: Clock; logger?: Logger } = {}) {
    super(new EmbeddedConnection(), options);
    for (const [name, handler] of handlers) this.pipeline.addLast(name, handler);
    this.pipeline.addLast("embedded-collector", {
      channelRead: (_ctx, message) => {
        this.inbound.push(message);
      },
      exceptionCaught: (_ctx, error) => {
        this.errors.push(error);
      },
    });
    this.start();
  }

  /** Reads `messages` in order as one batch: `channelRead` each, then `channelReadComplete`. */
  writeInbound(...messages: unknown[]): void {
    for (const message of messages) this.pipeline.fireRead(message);
    this.pipeline.fireReadComplete();
  }

  /** Ends the fake connection as the peer would. */
  disconnect(info: CloseInfo = { local: false }): void {
    (this.connection as EmbeddedConnection).end(info);
  }

  override writeToConnection(message: unknown): void {
    // Frames copied, as transports copy what they hold past the turn (`Connection.send`).
    if (this.connection.status === "open")
      this.outbound.push(message instanceof Uint8Array ? copyBytes(message) : message);
  }
}

import type { EventEmitter } from "eventemitter3";
import { type Clock, systemClock, type TimerHandle } from "../clock.js";
import { ConnectionClosedError, FrameTooLargeError, TimeoutError } from "../errors.js";
import { LazyEventEmitter } from "../lazy-event-emitter.js";
import { hostOf } from "./address.js";

/** 1 MiB, like ZooKeeper's `jute.maxbuffer`. */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
/** Bytes queued for sending above which `send()` returns false until `drain`. */
export const DEFAULT_HIGH_WATER_MARK = 64 * 1024;
/** How long a graceful `close()` may wait for the peer before it becomes an `abort()`. */
export const DEFAULT_CLOSE_TIMEOUT = 5000;
/** How long a transport's own handshake (TLS, a WebSocket upgrade) may take after the TCP accept. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;

export type ConnectionStatus = "open" | "closing" | "closed";

export interface CloseInfo {
  /** True when this side closed or aborted the connection (including on a protocol error). */
  local: boolean;
  /** Set when the connection ended abnormally: a reset, an abort, a protocol violation. */
  error?: Error;
}

export interface ConnectionEvents {
  /** One whole frame. The buffer is the receiver's to keep. */
  frame: (frame: Uint8Array) => void;
  /**
   * The frames of one read (one socket read, one WebSocket message, one delivery) have all been
   * emitted: Netty's channelReadComplete. Follows every run of `frame` events before the
   * transport returns to the event loop, so a reader can take the time once per batch.
   */
  readComplete: () => void;
  /**
   * A read brought bytes of a frame still arriving, and no whole frame: the peer is alive even
   * though nothing can be handed up yet (a large frame on a slow link). At most once per read.
   * Transports that see only whole frames never emit it (the browser's WebSocket); TCP, TLS
   * and WebSocket in Node do, and memory does on a link with a bandwidth limit.
   */
  readProgress: () => void;
  /** The send queue fell below the low-water mark after `send()` returned false. */
  drain: () => void;
  /** Emitted exactly once. */
  close: (info: CloseInfo) => void;
}

/**
 * The one reader a connection can hand its events to by direct calls, in place of listeners
 * (a Channel is one): five listener records per connection are bytes every idle connection
 * keeps. Listeners still hear every event; the reader hears each first.
 */
export interface ConnectionReader {
  connectionFrame(frame: Uint8Array): void;
  connectionReadComplete(): void;
  connectionReadProgress(): void;
  connectionDrain(): void;
  connectionClose(info: CloseInfo): void;
}

/**
 * One connection of any transport: whole binary frames in and out. This is the seam between
 * transports and everything above them; nothing above it knows which transport it runs on.
 */
export interface Connection extends EventEmitter<ConnectionEvents> {
  /** The transport's name: `tcp`, `tls`, `ws`, `memory`, ... */
  readonly transport: string;
  readonly status: ConnectionStatus;
  readonly localAddress: string;
  readonly remoteAddress: string;
  /**
   * Who the peer is, for a server's per-peer limits (`maxConnectionsPerAddress`,
   * `maxSessionsPerAddress`): the IP address on TCP and WebSocket; unique to this connection
   * where the transport cannot tell peers apart (Unix sockets). `ConnectionBase` derives it
   * from `remoteAddress`'s host.
   */
  readonly peerKey: string;
  /** Bytes accepted by `send()` and not yet handed to the operating system or peer. */
  readonly bufferedAmount: number;
  /** Settles when the connection is closed, with how it closed. Never rejects. */
  readonly closed: Promise<CloseInfo>;
  /** The largest frame this connection takes in and sends (absent: `DEFAULT_MAX_FRAME_BYTES`). */
  readonly maxFrameBytes?: number;
  /**
   * Milliseconds the transport's own handshake (TLS, a WebSocket upgrade) took between the TCP
   * accept and this connection; a server's handshake deadline counts them. 0 or absent: none.
   */
  readonly handshakeMs?: number;
  /**
   * Queues one frame. Returns false once the send queue is above the high-water mark; the
   * frame is still queued, and `drain` follows. Throws `ConnectionClosedError` unless open
   * and `FrameTooLargeError` for a frame over `maxFrameBytes`. The frame's bytes may be read
   * until the event loop's turn that sent it ends (transports batch what one read or tick
   * sends), and no later: a transport copies what it holds longer, so the sender may reuse the
   * memory from the next turn on (`setImmediate`).
   */
  send(frame: Uint8Array): boolean;
  /** Graceful: flushes what was sent, then closes. Idempotent. */
  close(): Promise<CloseInfo>;
  /** Immediate: drops what is queued; the peer sees an error close. Idempotent. */
  abort(error?: Error): void;
  /** Stops delivering `frame` events (and reading, where the transport can) until `resume()`. */
  pause(): void;
  resume(): void;
  /**
   * Makes `reader` this connection's reader (see `ConnectionReader`). Returns false, and
   * changes nothing, if it has one already; a connection without this method has none.
   */
  setReader?(reader: ConnectionReader): boolean;
}

export interface DialOptions {
  signal?: AbortSignal;
  /** Milliseconds before the dial fails with `TimeoutError`. */
  connectTimeout?: number;
}

/**
 * What a listener asks at each TCP accept, before a handshake of its own (TLS, a WebSocket
 * upgrade) can hold the socket: the server's connection limits and handshake deadline.
 */
export interface Admission {
  /** Milliseconds from the accept within which the socket must become a connection. */
  readonly handshakeTimeout: number;
  /**
   * A socket was accepted from the peer `peerKey` (the `peerKey` its connection will have).
   * Returns the function to call once, when it becomes a connection or closes; or undefined to
   * refuse it (it is closed at once, without a word: nothing can be said before the handshake).
   */
  admit(peerKey: string): (() => void) | undefined;
}

export interface ListenOptions {
  /** Limits and a deadline from the TCP accept; `TetherServer.listen` passes the server's. */
  admission?: Admission;
}

export interface Listener {
  /** The bound address, in the form `dial` accepts (port 0 resolved). */
  readonly address: string;
  /** Stops accepting and closes every connection it accepted. Idempotent. */
  close(): Promise<void>;
}

/** A way to reach peers: a dialing side and a listening side. */
export interface Transport {
  readonly name: string;
  dial(address: string, options?: DialOptions): Promise<Connection>;
  listen(
    address: string,
    onConnection: (connection: Connection) => void,
    options?: ListenOptions,
  ): Promise<Listener>;
}

export interface ConnectionOptions {
  maxFrameBytes?: number;
  /** Queued bytes above which `send()` returns false. Default 64 KiB. */
  highWaterMark?: number;
  /**
   * After `send()` returned false, `drain` fires once the queue is at or below this. Default
   * half the high-water mark. (TCP and TLS drain when the socket's buffer empties, which is
   * below any low-water mark.)
   */
  lowWaterMark?: number;
  closeTimeout?: number;
  clock?: Clock;
  /** See `Connection.handshakeMs`. */
  handshakeMs?: number;
}

/**
 * The parts of a connection every transport shares: status, the once-only close event, frame
 * size checks, pausing and the bounded graceful close. A transport fills in the abstract hooks,
 * hands up each frame it reads with `receive` and ends each read with `receiveComplete`.
 */
export abstract class ConnectionBase extends LazyEventEmitter<ConnectionEvents> implements Connection {
  abstract readonly transport: string;
  abstract readonly localAddress: string;
  abstract readonly remoteAddress: string;
  abstract readonly bufferedAmount: number;
  get peerKey(): string {
    return hostOf(this.remoteAddress);
  }
  readonly handshakeMs: number;
  readonly maxFrameBytes: number;
  protected readonly highWaterMark: number;
  protected readonly lowWaterMark: number;
  protected readonly clock: Clock;
  readonly #closeTimeout: number;
  #status: ConnectionStatus = "open";
  #closeTimer: TimerHandle | undefined;
  // `closed` and the paused frames are made when first needed: most connections never pause,
  // and a server holding many idle ones pays for every object each keeps (BENCHMARKS.md).
  #closed: Promise<CloseInfo> | undefined;
  #resolveClosed: ((info: CloseInfo) => void) | undefined;
  #closeInfo: CloseInfo | undefined;
  #aborted = false;
  #paused = false;
  #pausedFrames: Uint8Array[] | undefined;
  /** A frame was emitted and its `readComplete` is still to come. */
  #readOpen = false;
  #reader: ConnectionReader | undefined;

  constructor(options: ConnectionOptions = {}) {
    super();
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    this.lowWaterMark = Math.min(options.lowWaterMark ?? this.highWaterMark / 2, this.highWaterMark);
    this.#closeTimeout = options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT;
    this.clock = options.clock ?? systemClock;
    this.handshakeMs = options.handshakeMs ?? 0;
  }

  get closed(): Promise<CloseInfo> {
    if (this.#closed === undefined) {
      const info = this.#closeInfo;
      this.#closed =
        info === undefined
          ? new Promise((resolve) => {
              this.#resolveClosed = resolve;
            })
          : Promise.resolve(info);
    }
    return this.#closed;
  }

  get status(): ConnectionStatus {
    return this.#status;
  }

  get paused(): boolean {
    return this.#paused;
  }

  setReader(reader: ConnectionReader): boolean {
    if (this.#reader !== undefined) return false;
    this.#reader = reader;
    return true;
  }

  send(frame: Uint8Array): boolean {
    if (this.#status !== "open")
      throw new ConnectionClosedError(`cannot send on a ${this.#status} connection`);
    if (frame.byteLength > this.maxFrameBytes)
      throw new FrameTooLargeError(frame.byteLength, this.maxFrameBytes);
    return this.sendFrame(frame);
  }

  close(): Promise<CloseInfo> {
    if (this.#status === "open") {
      this.#status = "closing";
      this.#closeTimer = this.clock.setTimeout(() => {
        this.#closeTimer = undefined;
        this.abort(new TimeoutError(`graceful close took longer than ${this.#closeTimeout} ms`));
      }, this.#closeTimeout);
      this.closeGracefully();
    }
    return this.closed;
  }

  abort(error?: Error): void {
    if (this.#status === "closed" || this.#aborted) return;
    this.#aborted = true;
    this.#status = "closing";
    this.destroy(error);
  }

  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.pauseReading();
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    // Frames that were already in flight when reading paused go first, in order.
    const pending = this.#pausedFrames ?? [];
    this.#pausedFrames = undefined;
    for (const frame of pending) {
      if (this.#aborted || this.#status === "closed") return;
      this.#readOpen = true;
      this.#emitFrame(frame);
    }
    this.receiveComplete();
    this.resumeReading();
  }

  /** Hands a received frame up, holding it while paused. */
  protected receive(frame: Uint8Array): void {
    // After an abort, or once closed, what is still in the pipe is discarded: the caller chose.
    if (this.#aborted || this.#status === "closed") return;
    if (this.#paused) {
      this.#pausedFrames ??= [];
      this.#pausedFrames.push(frame);
    } else {
      this.#readOpen = true;
      this.#emitFrame(frame);
    }
  }

  #emitFrame(frame: Uint8Array): void {
    this.#reader?.connectionFrame(frame);
    this.emit("frame", frame);
  }

  /**
   * Ends a read: emits `readComplete` if any frame went up since the last one. A transport
   * calls it once its frames of one read are handed to `receive` (frames held by a pause get
   * theirs when `resume()` hands them up).
   */
  protected receiveComplete(): void {
    if (!this.#readOpen) return;
    this.#readOpen = false;
    if (this.#aborted || this.#status === "closed") return;
    this.#reader?.connectionReadComplete();
    this.emit("readComplete");
  }

  /** Tells readers that a read brought part of a frame and no whole one (see `readProgress`). */
  protected receiveProgress(): void {
    if (this.#aborted || this.#status === "closed") return;
    this.#reader?.connectionReadProgress();
    this.emit("readProgress");
  }

  /** Tells the reader and listeners that the send queue drained (see `drain`). */
  protected emitDrain(): void {
    this.#reader?.connectionDrain();
    this.emit("drain");
  }

  /** Ends the connection for good: emits `close` once and settles `closed`. */
  protected finish(info: CloseInfo): void {
    if (this.#status === "closed") return;
    this.#status = "closed";
    if (this.#closeTimer !== undefined) this.clock.clearTimeout(this.#closeTimer);
    this.#closeTimer = undefined;
    this.#pausedFrames = undefined;
    this.#closeInfo = info;
    this.#reader?.connectionClose(info);
    this.emit("close", info);
    this.#resolveClosed?.(info);
  }

  /** Queues a frame already checked for size and status; returns false above the high-water mark. */
  protected abstract sendFrame(frame: Uint8Array): boolean;
  /** Flushes and closes; must end in `finish()`. */
  protected abstract closeGracefully(): void;
  /** Tears down at once; must end in `finish({ local: true, error })`. */
  protected abstract destroy(error?: Error): void;
  /** Stops reading from the underlying source where possible (frames are held regardless). */
  protected abstract pauseReading(): void;
  protected abstract resumeReading(): void;
}

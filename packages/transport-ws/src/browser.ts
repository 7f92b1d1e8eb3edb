/**
 * The browser build of @tether/transport-ws (picked by the `browser` export condition): the
 * dialing side on the platform's WHATWG `WebSocket`, with the same message framing as Node.
 */
import {
  type Clock,
  type Connection,
  ConnectionBase,
  type ConnectionOptions,
  DEFAULT_MAX_FRAME_BYTES,
  DialError,
  type DialOptions,
  guardDial,
  type Listener,
  ProtocolError,
  systemClock,
  type TimerHandle,
  type Transport,
  TransportError,
} from "@tether/core";
import {
  closeCodeFor,
  closeErrorFor,
  MessageFraming,
  WS_CLOSE_ABORTED,
  WS_CLOSE_NORMAL,
} from "./message-framing.js";

/** Browsers have no drain event: how often to look at `bufferedAmount` while waiting for one. */
const DRAIN_POLL_MS = 10;

/** The subset of the WHATWG WebSocket this transport uses. */
export interface WhatwgWebSocket {
  binaryType: string;
  readonly bufferedAmount: number;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: never) => void): void;
}

export type WhatwgWebSocketConstructor = new (url: string) => WhatwgWebSocket;

export interface BrowserWebSocketOptions {
  maxFrameBytes?: number;
  highWaterMark?: number;
  lowWaterMark?: number;
  closeTimeout?: number;
  clock?: Clock;
  /** The WebSocket class; default `globalThis.WebSocket`. */
  WebSocket?: WhatwgWebSocketConstructor;
}

const OPEN = 1;

class BrowserWsConnection extends ConnectionBase {
  readonly transport = "ws";
  readonly localAddress = "browser";
  readonly #ws: WhatwgWebSocket;
  readonly #framing: MessageFraming;
  #drainTimer: TimerHandle | undefined;
  #error: Error | undefined;
  #closedLocally = false;

  constructor(
    ws: WhatwgWebSocket,
    readonly remoteAddress: string,
    options: ConnectionOptions,
  ) {
    super(options);
    this.#ws = ws;
    this.#framing = new MessageFraming(this.maxFrameBytes);
    ws.addEventListener("message", (event: { data: unknown }) => this.#onMessage(event.data));
    ws.addEventListener("close", (event: { code: number; reason: string }) => {
      const error = this.#error ?? closeErrorFor(event.code, event.reason);
      this.#end(error === undefined ? { local: this.#closedLocally } : { local: this.#closedLocally, error });
    });
  }

  get bufferedAmount(): number {
    return this.#framing.pendingBytes + this.#ws.bufferedAmount;
  }

  protected sendFrame(frame: Uint8Array): boolean {
    if (this.#framing.add(frame)) queueMicrotask(() => this.#flush());
    const ok = this.bufferedAmount < this.highWaterMark;
    if (!ok) this.#watchDrain();
    return ok;
  }

  protected closeGracefully(): void {
    this.#closedLocally = true;
    this.#flush();
    this.#ws.close(WS_CLOSE_NORMAL);
  }

  protected destroy(error?: Error): void {
    this.#closedLocally = true;
    this.#error ??= error;
    this.#ws.close(closeCodeFor(error, WS_CLOSE_ABORTED), error?.name ?? "aborted");
    // A browser cannot drop a socket on the spot; this end is done now all the same.
    this.#end(error === undefined ? { local: true } : { local: true, error });
  }

  // Browsers cannot stop reading a WebSocket; ConnectionBase holds frames while paused.
  protected pauseReading(): void {}
  protected resumeReading(): void {}

  #end(info: { local: boolean; error?: Error }): void {
    if (this.#drainTimer !== undefined) this.clock.clearTimeout(this.#drainTimer);
    this.#drainTimer = undefined;
    this.finish(info);
  }

  #flush(): void {
    if (this.#framing.pendingBytes === 0 || this.#ws.readyState !== OPEN) return;
    for (const message of this.#framing.flush()) this.#ws.send(message);
  }

  #watchDrain(): void {
    if (this.#drainTimer !== undefined) return;
    this.#drainTimer = this.clock.setTimeout(() => {
      this.#drainTimer = undefined;
      if (this.status === "closed") return;
      if (this.bufferedAmount <= this.lowWaterMark) this.emitDrain();
      else this.#watchDrain();
    }, DRAIN_POLL_MS);
  }

  #onMessage(data: unknown): void {
    if (!(data instanceof ArrayBuffer)) {
      this.abort(new ProtocolError("text WebSocket message: Tether frames are binary"));
      return;
    }
    try {
      this.#framing.decode(new Uint8Array(data), (frame) => this.receive(frame));
      this.receiveComplete();
    } catch (error) {
      this.abort(error as Error);
    }
  }
}

class BrowserWebSocketTransport implements Transport {
  readonly name = "ws";
  constructor(private readonly options: BrowserWebSocketOptions) {}

  dial(address: string, dialOptions: DialOptions = {}): Promise<Connection> {
    const Impl =
      this.options.WebSocket ?? (globalThis as { WebSocket?: WhatwgWebSocketConstructor }).WebSocket;
    if (Impl === undefined)
      return Promise.reject(new DialError("no WebSocket implementation in this environment"));
    let ws: WhatwgWebSocket | undefined;
    const attempt = new Promise<Connection>((resolve, reject) => {
      try {
        ws = new Impl(address);
      } catch (error) {
        reject(new DialError(`bad WebSocket address "${address}"`, { cause: error }));
        return;
      }
      const socket = ws;
      socket.binaryType = "arraybuffer";
      let opened = false;
      socket.addEventListener("open", () => {
        opened = true;
        const { maxFrameBytes, highWaterMark, lowWaterMark, closeTimeout } = this.options;
        resolve(
          new BrowserWsConnection(socket, new URL(address).host, {
            maxFrameBytes: maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
            ...(highWaterMark === undefined ? {} : { highWaterMark }),
            ...(lowWaterMark === undefined ? {} : { lowWaterMark }),
            ...(closeTimeout === undefined ? {} : { closeTimeout }),
            clock: this.options.clock ?? systemClock,
          }),
        );
      });
      // Browsers say nothing about why a WebSocket failed; the close event that follows an
      // error carries the code. (Some WHATWG implementations throw on unheard errors.)
      socket.addEventListener("error", () => {});
      socket.addEventListener("close", (event: { code: number; reason: string }) => {
        if (!opened) reject(new DialError(`cannot reach ${address} (close code ${event.code})`));
      });
    });
    return guardDial(attempt, () => ws?.close(), dialOptions, this.options.clock ?? systemClock);
  }

  listen(): Promise<Listener> {
    return Promise.reject(new TransportError("a browser cannot listen for WebSocket connections"));
  }
}

/** The WebSocket transport for browsers: dialing only. */
export function webSocket(options: BrowserWebSocketOptions = {}): Transport {
  return new BrowserWebSocketTransport(options);
}

export {
  WebSocketCloseError,
  WS_CLOSE_ABNORMAL,
  WS_CLOSE_ABORTED,
  WS_CLOSE_GOING_AWAY,
  WS_CLOSE_NORMAL,
  WS_CLOSE_PROTOCOL_ERROR,
  WS_CLOSE_TOO_BIG,
  WS_CLOSE_UNSUPPORTED_DATA,
} from "./message-framing.js";

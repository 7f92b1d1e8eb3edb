import type { Duplex } from "node:stream";
import {
  ConnectionBase,
  type ConnectionOptions,
  EARLY_FLUSH_BYTES,
  EARLY_FLUSH_MIN_READ,
  FrameTooLargeError,
  ProtocolError,
  uniquePeerKey,
  writeBufferPool,
} from "@tether/core";
import type { RawData, WebSocket } from "ws";
import {
  closeCodeFor,
  closeErrorFor,
  MessageFraming,
  WS_CLOSE_NORMAL,
  WS_CLOSE_PROTOCOL_ERROR,
  WS_CLOSE_UNSUPPORTED_DATA,
} from "./message-framing.js";

/** A message's memory, given back to the pool by its send callback (see `writeBufferPool`). */
const takeMessage = (bytes: number): Uint8Array => writeBufferPool.take(bytes);

/**
 * A Tether connection over a `ws` WebSocket (either side). Given the socket `ws` reads from, it
 * also tells readers when a read brought only part of a message (`readProgress`).
 */
export class WsConnection extends ConnectionBase {
  readonly transport = "ws";
  readonly #ws: WebSocket;
  readonly #framing: MessageFraming;
  /** Hands a frame up; false once reading paused, so the rest of the message stays held as bytes. */
  readonly #onFrame = (frame: Uint8Array): boolean => {
    this.receive(frame);
    return !this.paused;
  };
  /** A large message is being handled and its first answers have not left yet. */
  #flushEarly = false;
  /** Whether a whole message arrived in the socket's current read (see `#onSocketData`). */
  #heardMessage = false;
  readonly #peerKey: string;
  #needDrain = false;
  #closedLocally = false;
  #error: Error | undefined;

  constructor(
    ws: WebSocket,
    readonly localAddress: string,
    readonly remoteAddress: string,
    options: ConnectionOptions = {},
    socket?: SocketUnderWs,
  ) {
    super(options);
    this.#ws = ws;
    this.#peerKey = wsPeerKey(socket);
    if (socket !== undefined) {
      socket.on("data", this.#onSocketData);
      ws.on("ping", this.#onControlFrame);
      ws.on("pong", this.#onControlFrame);
    }
    this.#framing = new MessageFraming(this.maxFrameBytes);
    ws.binaryType = "nodebuffer";
    ws.on("message", (data, isBinary) => this.#onMessage(data, isBinary));
    ws.on("error", (error: Error & { code?: string }) => {
      this.#error ??=
        error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"
          ? new FrameTooLargeError(Number.NaN, this.maxFrameBytes)
          : error;
    });
    ws.on("close", (code, reason) => {
      const error = this.#error ?? closeErrorFor(code, reason.toString());
      this.finish(
        error === undefined ? { local: this.#closedLocally } : { local: this.#closedLocally, error },
      );
    });
  }

  override get peerKey(): string {
    return this.#peerKey;
  }

  get bufferedAmount(): number {
    return this.#framing.pendingBytes + this.#ws.bufferedAmount;
  }

  protected sendFrame(frame: Uint8Array): boolean {
    if (this.#framing.add(frame)) process.nextTick(() => this.#flush());
    if (this.#flushEarly) this.#flushEarlyIfDue(frame.byteLength);
    const ok = this.bufferedAmount < this.highWaterMark;
    if (!ok) this.#needDrain = true;
    return ok;
  }

  /** A large message's first small answers leave at once (see `EARLY_FLUSH_MIN_READ`). */
  #flushEarlyIfDue(frameBytes: number): void {
    if (frameBytes >= EARLY_FLUSH_BYTES)
      this.#flushEarly = false; // a large answer: one message
    else if (this.#framing.pendingBytes >= EARLY_FLUSH_BYTES) {
      this.#flushEarly = false;
      this.#flush();
    }
  }

  protected closeGracefully(): void {
    this.#closedLocally = true;
    this.#flush();
    this.#ws.close(WS_CLOSE_NORMAL);
  }

  protected destroy(error?: Error): void {
    this.#closedLocally = true;
    this.#error ??= error;
    if (error instanceof ProtocolError && this.#ws.readyState === this.#ws.OPEN) {
      // Tell the peer why with a close code; `ws` bounds the closing handshake itself.
      this.#ws.close(closeCodeFor(error, WS_CLOSE_PROTOCOL_ERROR), error.name);
      return;
    }
    this.#ws.terminate();
  }

  protected pauseReading(): void {
    this.#ws.pause();
  }

  protected resumeReading(): void {
    try {
      this.#framing.resume(this.#onFrame);
      this.receiveComplete();
    } catch (error) {
      this.abort(error as Error);
      return;
    }
    if (!this.paused) this.#ws.resume();
  }

  #flush(): void {
    if (this.#framing.pendingBytes === 0 || this.#ws.readyState !== this.#ws.OPEN) return;
    for (const message of this.#framing.flush(takeMessage)) {
      this.#ws.send(message, { binary: true }, () => {
        writeBufferPool.release(message);
        this.#onFlushed();
      });
    }
  }

  #onFlushed(): void {
    if (this.#needDrain && this.bufferedAmount <= this.lowWaterMark) {
      this.#needDrain = false;
      this.emitDrain();
    }
  }

  /**
   * Runs after `ws` has parsed the read (its listener was added first, when it took the socket),
   * so a read that completed no message, no ping or pong and no close frame (which leaves the
   * WebSocket closing) carried part of a message: the peer is alive.
   */
  readonly #onSocketData = (): void => {
    if (!this.#heardMessage && this.#ws.readyState === this.#ws.OPEN) this.receiveProgress();
    this.#heardMessage = false;
  };

  readonly #onControlFrame = (): void => {
    this.#heardMessage = true;
  };

  #onMessage(data: RawData, isBinary: boolean): void {
    this.#heardMessage = true;
    if (!isBinary) {
      this.#error ??= new ProtocolError("text WebSocket message: Tether frames are binary");
      this.#closedLocally = true;
      this.#ws.close(WS_CLOSE_UNSUPPORTED_DATA, "binary only");
      return;
    }
    const message = Array.isArray(data)
      ? Buffer.concat(data)
      : Buffer.isBuffer(data)
        ? data
        : Buffer.from(data);
    this.#flushEarly = message.byteLength >= EARLY_FLUSH_MIN_READ;
    try {
      this.#framing.decode(message, this.#onFrame);
      this.receiveComplete();
    } catch (error) {
      this.abort(error as Error);
    } finally {
      this.#flushEarly = false;
    }
  }
}

/** The stream `ws` reads from: a TCP or TLS socket, or any duplex a framework hands over. */
type SocketUnderWs = Duplex & { readonly remoteAddress?: string | undefined };

/** A WebSocket peer is the IP address under it; one without (a Unix socket) is its own peer. */
export function wsPeerKey(socket: SocketUnderWs | undefined): string {
  return socket?.remoteAddress ?? uniquePeerKey("ws");
}

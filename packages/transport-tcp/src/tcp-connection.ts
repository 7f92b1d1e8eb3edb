import type { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import {
  ConnectionBase,
  type ConnectionOptions,
  LENGTH_PREFIX_BYTES,
  LengthPrefixDecoder,
} from "@tether/core";
import { formatAddress } from "./address.js";

/** Frames up to this size are copied behind their header into one write; larger ones go as two. */
const COALESCE_LIMIT = 16 * 1024;

/**
 * A connection over a stream socket (plain TCP, TLS or a Unix socket): frames carry a 4-byte
 * big-endian length. All frames sent in one tick leave in one write (the socket is corked until
 * the next tick), and an oversized length header ends the connection before its body is read.
 */
export class TcpConnection extends ConnectionBase {
  readonly transport: string;
  readonly localAddress: string;
  readonly remoteAddress: string;
  readonly #socket: Socket;
  readonly #decoder: LengthPrefixDecoder;
  #corked = false;
  #needDrain = false;
  #closedLocally = false;
  #error: Error | undefined;

  constructor(socket: Socket, transport: string, options: ConnectionOptions = {}) {
    super(options);
    this.transport = transport;
    this.#socket = socket;
    this.#decoder = new LengthPrefixDecoder(this.maxFrameBytes);
    const isPipe = socket.remotePort === undefined;
    this.localAddress = isPipe ? "unix" : formatAddress(socket.localAddress, socket.localPort);
    this.remoteAddress = isPipe ? "unix" : formatAddress(socket.remoteAddress, socket.remotePort);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("end", () => this.#onEnd());
    socket.on("drain", () => {
      if (!this.#needDrain) return;
      this.#needDrain = false;
      this.emit("drain");
    });
    socket.on("error", (error) => {
      this.#error ??= error;
    });
    socket.on("close", () => {
      this.finish(
        this.#error === undefined
          ? { local: this.#closedLocally }
          : { local: this.#closedLocally, error: this.#error },
      );
    });
  }

  get bufferedAmount(): number {
    return this.#socket.writableLength;
  }

  /** Bytes received and held for an incomplete frame; never above `maxFrameBytes` + one read. */
  get inboundBufferedBytes(): number {
    return this.#decoder.bufferedBytes;
  }

  protected sendFrame(frame: Uint8Array): boolean {
    const socket = this.#socket;
    if (!this.#corked) {
      this.#corked = true;
      socket.cork();
      process.nextTick(() => this.#uncork());
    }
    let ok: boolean;
    if (frame.byteLength <= COALESCE_LIMIT) {
      const out = Buffer.allocUnsafe(LENGTH_PREFIX_BYTES + frame.byteLength);
      out.writeUInt32BE(frame.byteLength, 0);
      out.set(frame, LENGTH_PREFIX_BYTES);
      ok = socket.write(out);
    } else {
      const header = Buffer.allocUnsafe(LENGTH_PREFIX_BYTES);
      header.writeUInt32BE(frame.byteLength, 0);
      socket.write(header);
      ok = socket.write(frame);
    }
    if (!ok) this.#needDrain = true;
    return ok;
  }

  protected closeGracefully(): void {
    this.#closedLocally = true;
    this.#uncork();
    this.#socket.end();
  }

  protected destroy(error?: Error): void {
    this.#closedLocally = true;
    this.#error ??= error;
    // A reset (RST), not a FIN, so the peer sees an error close as it would on a crash.
    // Plain TCP only: Unix sockets have no reset, TLS sockets own their TCP handle (a reset
    // fails with EINVAL), and so does a socket that already sent its FIN. Those just close.
    const socket = this.#socket;
    const resettable =
      socket.remotePort !== undefined && !(socket instanceof TLSSocket) && !socket.writableEnded;
    if (resettable && !socket.destroyed) socket.resetAndDestroy();
    else socket.destroy();
  }

  protected pauseReading(): void {
    this.#socket.pause();
  }

  protected resumeReading(): void {
    this.#socket.resume();
  }

  #uncork(): void {
    if (!this.#corked) return;
    this.#corked = false;
    this.#socket.uncork();
  }

  #onData(chunk: Buffer): void {
    try {
      this.#decoder.push(chunk, (frame) => this.receive(frame));
    } catch (error) {
      this.abort(error as Error);
    }
  }

  #onEnd(): void {
    try {
      this.#decoder.end();
    } catch (error) {
      this.#error ??= error as Error;
    }
  }
}

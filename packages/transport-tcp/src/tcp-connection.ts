import type { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import {
  ConnectionBase,
  type ConnectionOptions,
  LENGTH_PREFIX_BYTES,
  LengthPrefixDecoder,
} from "@tether/core";
import { formatAddress } from "./address.js";

/** Frames up to this size are copied into the batch's buffer; larger ones are written as they are. */
const COALESCE_LIMIT = 16 * 1024;
/** A batch this large is written at once rather than at the end of the read or tick. */
const MAX_BATCH_BYTES = 64 * 1024;

/**
 * A connection over a stream socket (plain TCP, TLS or a Unix socket): frames carry a 4-byte
 * big-endian length. Frames sent while a read is handled leave in one write when it ends, and
 * frames sent at other times in one write on the next tick (Netty's flush at read-complete).
 * An oversized length header ends the connection before its body is read.
 */
export class TcpConnection extends ConnectionBase {
  readonly transport: string;
  readonly localAddress: string;
  readonly remoteAddress: string;
  readonly #socket: Socket;
  readonly #decoder: LengthPrefixDecoder;
  /** Frames sent and not yet written to the socket (headers are added as they are written). */
  #batch: Uint8Array[] = [];
  #batchBytes = 0;
  #reading = false;
  #flushQueued = false;
  readonly #flushOnTick = (): void => {
    this.#flushQueued = false;
    this.#flush();
  };
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
    return this.#socket.writableLength + this.#batchBytes;
  }

  /** Bytes received and held for an incomplete frame; never above `maxFrameBytes` + one read. */
  get inboundBufferedBytes(): number {
    return this.#decoder.bufferedBytes;
  }

  protected sendFrame(frame: Uint8Array): boolean {
    this.#batch.push(frame);
    this.#batchBytes += LENGTH_PREFIX_BYTES + frame.byteLength;
    if (this.#batchBytes >= MAX_BATCH_BYTES) this.#flush();
    else if (!this.#reading && !this.#flushQueued) {
      this.#flushQueued = true;
      process.nextTick(this.#flushOnTick);
    }
    const ok = this.bufferedAmount < this.#socket.writableHighWaterMark;
    if (!ok) this.#needDrain = true;
    return ok;
  }

  /**
   * Writes the batch: small frames and their headers copied into one buffer (one write call,
   * one system call), a large frame after its header without a copy (then corked: one writev).
   */
  #flush(): void {
    const frames = this.#batch;
    if (frames.length === 0) return;
    this.#batch = [];
    this.#batchBytes = 0;
    const socket = this.#socket;
    if (socket.destroyed || socket.writableEnded) return;
    const segments: Uint8Array[] = [];
    for (let first = 0; first < frames.length; ) {
      // A run of small frames, ended by a large one (its header goes with the run) or the batch.
      let end = first;
      let size = 0;
      let large: Uint8Array | undefined;
      while (end < frames.length && large === undefined) {
        const frame = frames[end++] as Uint8Array;
        size += LENGTH_PREFIX_BYTES;
        if (frame.byteLength > COALESCE_LIMIT) large = frame;
        else size += frame.byteLength;
      }
      const out = Buffer.allocUnsafe(size);
      let at = 0;
      for (let i = first; i < end; i++) {
        const frame = frames[i] as Uint8Array;
        out.writeUInt32BE(frame.byteLength, at);
        at += LENGTH_PREFIX_BYTES;
        if (frame === large) continue;
        out.set(frame, at);
        at += frame.byteLength;
      }
      segments.push(out);
      if (large !== undefined) segments.push(large);
      first = end;
    }
    let ok: boolean;
    if (segments.length === 1) ok = socket.write(segments[0] as Uint8Array);
    else {
      socket.cork();
      for (const segment of segments) socket.write(segment);
      socket.uncork();
      ok = socket.writableLength < socket.writableHighWaterMark;
    }
    // Node emits drain only after a write that returned false, and a write the kernel took at
    // once returns true (its length is counted after the write). A sender this connection told
    // to wait must still hear drain, so it comes from here then.
    if (ok && this.#needDrain) {
      this.#needDrain = false;
      process.nextTick(() => this.emit("drain"));
    }
  }

  protected closeGracefully(): void {
    this.#closedLocally = true;
    this.#flush();
    this.#socket.end();
  }

  protected destroy(error?: Error): void {
    this.#closedLocally = true;
    this.#batch = []; // an abort discards what was not yet written
    this.#batchBytes = 0;
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

  #onData(chunk: Buffer): void {
    this.#reading = true;
    try {
      this.#decoder.push(chunk, (frame) => this.receive(frame));
      this.receiveComplete();
    } catch (error) {
      this.abort(error as Error);
    } finally {
      this.#reading = false;
      // What the frames of this read made leaves now, in one write.
      this.#flush();
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

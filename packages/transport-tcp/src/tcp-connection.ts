import type { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import {
  ConnectionBase,
  type ConnectionOptions,
  ConnectionResetError,
  EARLY_FLUSH_BYTES,
  EARLY_FLUSH_MIN_READ,
  formatHostPort,
  LENGTH_PREFIX_BYTES,
  LengthPrefixDecoder,
  uniquePeerKey,
  writeBufferPool,
} from "@tether/core";

/**
 * Frames up to this size wait in the batch for the read or tick to end; larger ones are copied
 * at once, behind the batch, into the chunk (`CHUNK_BYTES`). Every frame is copied: a sender may
 * reuse a frame's memory once the turn that sent it ends (the `Connection` contract), and a frame
 * written as it is stays the socket's for as long as the peer is slow to read.
 */
const COALESCE_LIMIT = 16 * 1024;
/** A batch this large is written at once rather than at the end of the read or tick. */
const MAX_BATCH_BYTES = 64 * 1024;
/**
 * From a large frame on, what a read or tick sends is copied into one pooled chunk of at least
 * this, written when it is full or the read or tick ends: a write per large frame cost the
 * socket's bookkeeping objects per frame, which under load lived long enough to be promoted.
 */
const CHUNK_BYTES = 128 * 1024;
/**
 * A batch of at least this many bytes is written from `writeBufferPool`, released by the
 * write's callback. Smaller ones (an idle connection's Pong) are slices of Node's own shared
 * buffer pool, which cost less there; larger slices use up Node's pool quickly, and from half
 * of it on each is an allocation of its own.
 */
const POOLED_BATCH_BYTES = 1024;
/**
 * The batch of a connection with nothing to write, shared and never written to: a batch is an
 * array of its own from its first frame, and lets it go when written. An array kept per
 * connection between reads lived from one Ping to the next on an idle connection, long enough
 * to be promoted, and V8's old generation filled with them.
 */
const NO_FRAMES: readonly Uint8Array[] = Object.freeze([]);
/** Socket errors that mean the peer's end went away without closing. */
const RESET_CODES: ReadonlySet<string> = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);
/** The connection a socket belongs to, for the socket listeners every connection shares. */
const CONNECTION = Symbol("tether.tcpConnection");
type OwnedSocket = Socket & { [CONNECTION]: TcpConnection };

/**
 * A connection over a stream socket (plain TCP, TLS or a Unix socket): frames carry a 4-byte
 * big-endian length. Small frames sent while a read is handled leave in one write when it
 * ends (a large read sends its first ones early), and those sent at other times in one write
 * on the next tick (Netty's flush at read-complete); a large frame is copied at once into a
 * pooled chunk that the rest of the read or tick joins, written when it is full or they end.
 * An oversized length header ends the connection before its body is read.
 */
export class TcpConnection extends ConnectionBase {
  readonly transport: string;
  /** The peer's port, or -1 on a Unix socket: `remoteAddress` is formatted when asked. */
  readonly #remotePort: number;
  readonly #peerKey: string;
  readonly #socket: Socket;
  readonly #decoder: LengthPrefixDecoder;
  /** Frames sent and not yet written to the socket (headers are added as they are written). */
  #batch: readonly Uint8Array[] = NO_FRAMES;
  #batchBytes = 0;
  #reading = false;
  /** This read is large and its first answers have not left yet. */
  #flushEarly = false;
  #flushQueued = false;
  /** The chunk being filled since a large frame (see `CHUNK_BYTES`), and its bytes so far. */
  #chunk: Uint8Array | undefined;
  #chunkBytes = 0;
  #chunkQueued = false;
  #framesRead = 0;
  #needDrain = false;
  #drainCheck: (() => void) | undefined;
  /**
   * Pooled batches handed to the socket, oldest first: a socket calls its write callbacks in
   * order, so one callback per connection releases the oldest (a closure per write, holding its
   * buffer, lived as long as the write and was promoted with it under load).
   */
  #pooledWrites: Uint8Array[] | undefined;
  #onPooledWritten: (() => void) | undefined;
  #closedLocally = false;
  #error: Error | undefined;
  /** The listener's set of the connections it accepted, which this one leaves as it closes. */
  readonly #accepted: Set<TcpConnection> | undefined;

  constructor(
    socket: Socket,
    transport: string,
    options: ConnectionOptions = {},
    accepted?: Set<TcpConnection>,
  ) {
    super(options);
    this.transport = transport;
    this.#accepted = accepted;
    accepted?.add(this);
    this.#socket = socket;
    this.#decoder = new LengthPrefixDecoder(this.maxFrameBytes);
    this.#remotePort = socket.remotePort ?? -1;
    this.#peerKey = tcpPeerKey(socket);
    socket.setNoDelay(true);
    (socket as OwnedSocket)[CONNECTION] = this;
    socket.on("data", TcpConnection.#onSocketData);
    socket.on("drain", TcpConnection.#onSocketDrain);
    socket.on("error", TcpConnection.#onSocketError);
    socket.on("close", TcpConnection.#onSocketClose);
  }

  /**
   * Hands a frame up; false once reading paused, so the decoder holds the rest unparsed. A
   * method the decoder calls with this connection as its context: no closure per connection.
   */
  #onDecodedFrame(frame: Uint8Array): boolean {
    this.#framesRead++;
    this.receive(frame);
    return !this.paused;
  }

  // The socket's listeners, shared by every connection (Node calls them with the socket as
  // `this`, not the class): closures made per connection are bytes every idle connection holds.
  static #onSocketData(this: Socket, chunk: Buffer): void {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the socket here
    (this as OwnedSocket)[CONNECTION].#read(chunk);
  }

  static #onSocketDrain(this: Socket): void {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the socket here
    (this as OwnedSocket)[CONNECTION].#checkDrain();
  }

  static #onSocketError(this: Socket, error: NodeJS.ErrnoException): void {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the socket here
    const connection = (this as OwnedSocket)[CONNECTION];
    connection.#error ??= RESET_CODES.has(error.code ?? "")
      ? new ConnectionResetError("connection reset by peer", { cause: error })
      : error;
  }

  static #onSocketClose(this: Socket): void {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the socket here
    const connection = (this as OwnedSocket)[CONNECTION];
    // Checked here rather than on `end`: a listener of its own would be an array on every socket.
    // biome-ignore lint/complexity/noThisInStatic: `this` is the socket here
    if (this.readableEnded) connection.#checkEnd();
    const local = connection.#closedLocally;
    const error = connection.#error;
    connection.#accepted?.delete(connection);
    connection.finish(error === undefined ? { local } : { local, error });
  }

  /**
   * Asked for rarely (a server reads only the peer's address), so worked out when asked:
   * reading it makes Node keep the socket's address object, which idle connections add up.
   */
  get localAddress(): string {
    if (this.#remotePort < 0) return "unix";
    return formatHostPort(this.#socket.localAddress, this.#socket.localPort); // "unknown" once closed
  }

  /** Formatted when asked, for the same reason, from what the connection keeps anyway. */
  get remoteAddress(): string {
    return this.#remotePort < 0 ? "unix" : formatHostPort(this.#peerKey, this.#remotePort);
  }

  override get peerKey(): string {
    return this.#peerKey;
  }

  get bufferedAmount(): number {
    return this.#socket.writableLength + this.#batchBytes + this.#chunkBytes;
  }

  /** Bytes received and not yet handed up: an incomplete frame, or what arrived as reading paused. */
  get inboundBufferedBytes(): number {
    return this.#decoder.bufferedBytes;
  }

  protected sendFrame(frame: Uint8Array): boolean {
    // The connection's own mark, not the socket's: a TLS socket keeps Node's default (64 KiB
    // from Node 22 on) whatever the options said. Judged before the frame is queued too, so
    // that a write that may pass the mark carries the drain check (`#afterWrite`).
    const waiting = this.#needDrain;
    this.#needDrain =
      waiting || this.bufferedAmount + LENGTH_PREFIX_BYTES + frame.byteLength >= this.highWaterMark;
    if (frame.byteLength > COALESCE_LIMIT) this.#flush(frame);
    else {
      if (this.#batch === NO_FRAMES) this.#batch = [frame];
      else (this.#batch as Uint8Array[]).push(frame);
      this.#batchBytes += LENGTH_PREFIX_BYTES + frame.byteLength;
      if (this.#batchBytes >= MAX_BATCH_BYTES) this.#flush();
      else if (this.#reading) {
        if (this.#flushEarly) this.#flushEarlyIfDue(frame.byteLength);
      } else if (!this.#flushQueued) {
        this.#flushQueued = true;
        process.nextTick(TcpConnection.#flushOnTick, this);
      }
    }
    // Below the mark after all (the kernel took the bytes at once): no sender waits.
    const ok = this.bufferedAmount < this.highWaterMark;
    if (ok && !waiting) this.#needDrain = false;
    return ok;
  }

  /** A large read's first small answers leave at once (see `EARLY_FLUSH_MIN_READ`). */
  #flushEarlyIfDue(frameBytes: number): void {
    if (frameBytes >= EARLY_FLUSH_BYTES)
      this.#flushEarly = false; // a large answer: one write
    else if (this.#batchBytes >= EARLY_FLUSH_BYTES) {
      this.#flushEarly = false;
      this.#flush();
      this.#writeChunk();
    }
  }

  // Static, given the connection: a closure per connection costs every idle one its bytes.
  static #flushOnTick(connection: TcpConnection): void {
    connection.#flushQueued = false;
    connection.#flush();
  }

  static #writeChunkOnTick(connection: TcpConnection): void {
    connection.#chunkQueued = false;
    connection.#writeChunk();
  }

  /**
   * Writes the batch, and `large` after it when given, each frame copied in behind its header:
   * as one buffer of their own, or, from a large frame on, into the chunk (see `CHUNK_BYTES`),
   * which leaves when the read or tick ends. Large frames sent one by one used to be written
   * one by one; held in the batch until the read ended instead, they lived long enough to be
   * promoted and paid for in mark-compacts (BENCHMARKS.md, "Fourth session").
   */
  #flush(large?: Uint8Array): void {
    const frames = this.#batch;
    if (frames.length === 0 && large === undefined) return;
    this.#batch = NO_FRAMES;
    this.#batchBytes = 0;
    const socket = this.#socket;
    if (socket.destroyed || socket.writableEnded) return;
    let size = large === undefined ? 0 : LENGTH_PREFIX_BYTES + large.byteLength;
    for (const frame of frames) size += LENGTH_PREFIX_BYTES + frame.byteLength;
    if (large === undefined && this.#chunk === undefined) {
      const pooled = size >= POOLED_BATCH_BYTES;
      const out = pooled ? writeBufferPool.take(size) : Buffer.allocUnsafe(size);
      let at = 0;
      for (const frame of frames) at = writeFrame(out, at, frame);
      this.#write(out, size, pooled);
      return;
    }
    const chunk = this.#chunkFor(size);
    let at = this.#chunkBytes;
    for (const frame of frames) at = writeFrame(chunk, at, frame);
    if (large !== undefined) at = writeFrame(chunk, at, large);
    this.#chunkBytes = at;
  }

  /** The chunk, with room for `size` more bytes: a full one is written first. */
  #chunkFor(size: number): Uint8Array {
    if (this.#chunk !== undefined && this.#chunkBytes + size > this.#chunk.byteLength) this.#writeChunk();
    if (this.#chunk === undefined) {
      this.#chunk = writeBufferPool.take(Math.max(size, CHUNK_BYTES));
      if (!this.#chunkQueued) {
        this.#chunkQueued = true;
        process.nextTick(TcpConnection.#writeChunkOnTick, this);
      }
    }
    return this.#chunk;
  }

  #writeChunk(): void {
    const chunk = this.#chunk;
    if (chunk === undefined) return;
    const bytes = this.#chunkBytes;
    this.#chunk = undefined;
    this.#chunkBytes = 0;
    if (this.#socket.destroyed || this.#socket.writableEnded) writeBufferPool.release(chunk);
    else this.#write(chunk, bytes, true);
  }

  /** Writes `bytes` of `out`; a pooled buffer goes back to the pool when the write is done. */
  #write(out: Uint8Array, bytes: number, pooled: boolean): void {
    const data = bytes === out.byteLength ? out : out.subarray(0, bytes);
    if (pooled) {
      this.#pooledWrites ??= [];
      this.#pooledWrites.push(out);
      this.#onPooledWritten ??= () => this.#releaseOldestWrite();
      this.#socket.write(data, this.#onPooledWritten);
    } else this.#socket.write(data, this.#afterWrite());
    this.#checkDrainSoon();
  }

  /** The oldest pooled batch's write is done: the socket no longer reads its memory. */
  #releaseOldestWrite(): void {
    const written = this.#pooledWrites?.shift();
    if (written !== undefined) writeBufferPool.release(written);
    this.#checkDrain();
  }

  /**
   * A sender told to wait hears `drain` once the queue is down to the low-water mark: from a
   * write's callback (Node's own `drain` comes only after a write that returned false by the
   * socket's mark, which is not this connection's), or at once if the kernel took it all.
   */
  #checkDrain(): void {
    if (!this.#needDrain || this.bufferedAmount > this.lowWaterMark) return;
    this.#needDrain = false;
    this.emitDrain();
  }

  /**
   * The callback for a write: the drain check while a sender waits, else none. `sendFrame`
   * sets `#needDrain` before the write that passes the mark, so that write carries the check;
   * the check is a closure, made on the first wait, that an idle connection never holds.
   */
  #afterWrite(): (() => void) | undefined {
    if (!this.#needDrain) return undefined;
    this.#drainCheck ??= () => this.#checkDrain();
    return this.#drainCheck;
  }

  static #checkDrainOnTick(connection: TcpConnection): void {
    connection.#checkDrain();
  }

  #checkDrainSoon(): void {
    if (this.#needDrain) process.nextTick(TcpConnection.#checkDrainOnTick, this);
  }

  protected closeGracefully(): void {
    this.#closedLocally = true;
    this.#flush();
    this.#writeChunk();
    this.#socket.end();
  }

  protected destroy(error?: Error): void {
    this.#closedLocally = true;
    this.#batch = NO_FRAMES; // an abort discards what was not yet written
    this.#batchBytes = 0;
    if (this.#chunk !== undefined) writeBufferPool.release(this.#chunk);
    this.#chunk = undefined;
    this.#chunkBytes = 0;
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
    // What arrived before the pause took effect is parsed first; it may pause reading again.
    this.#read(undefined);
    if (!this.paused) this.#socket.resume();
  }

  /** Parses a chunk (or, with none, what the decoder held while paused) as one read. */
  #read(chunk: Buffer | undefined): void {
    this.#reading = true;
    this.#flushEarly = chunk !== undefined && chunk.byteLength >= EARLY_FLUSH_MIN_READ;
    try {
      const framesBefore = this.#framesRead;
      if (chunk === undefined) this.#decoder.resume(this.#onDecodedFrame, this);
      else this.#decoder.push(chunk, this.#onDecodedFrame, this);
      this.receiveComplete();
      // Bytes of a large frame that is still arriving are proof of life too.
      if (chunk !== undefined && this.#framesRead === framesBefore) this.receiveProgress();
    } catch (error) {
      this.abort(error as Error);
    } finally {
      this.#reading = false;
      // What the frames of this read made leaves now, in one write.
      this.#flush();
      this.#writeChunk();
    }
  }

  #checkEnd(): void {
    try {
      this.#decoder.end();
    } catch (error) {
      this.#error ??= error as Error;
    }
  }
}

/** Writes `frame` behind its 4-byte big-endian length header at `at`; returns where it ends. */
function writeFrame(out: Uint8Array, at: number, frame: Uint8Array): number {
  const length = frame.byteLength;
  out[at] = length >>> 24;
  out[at + 1] = (length >>> 16) & 0xff;
  out[at + 2] = (length >>> 8) & 0xff;
  out[at + 3] = length & 0xff;
  out.set(frame, at + LENGTH_PREFIX_BYTES);
  return at + LENGTH_PREFIX_BYTES + length;
}

/** A TCP peer is its IP address; Unix-socket peers carry none, so each is a peer of its own. */
export function tcpPeerKey(socket: Socket): string {
  return socket.remoteAddress ?? uniquePeerKey("unix");
}

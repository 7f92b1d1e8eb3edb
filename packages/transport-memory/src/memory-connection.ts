import {
  ConnectionBase,
  type ConnectionOptions,
  ConnectionResetError,
  copyBytes,
  FrameTooLargeError,
} from "@tether/core";
import type { Packet, Pipe } from "./pipe.js";

/**
 * One end of a memory link. It sends into its outgoing pipe and receives from the incoming
 * one; `bufferedAmount` is what the peer has not taken yet, so a paused peer fills it.
 */
export class MemoryConnection extends ConnectionBase {
  readonly transport = "memory";
  #outgoing: Pipe | undefined;
  #incoming: Pipe | undefined;
  #needDrain = false;

  constructor(
    readonly localAddress: string,
    readonly remoteAddress: string,
    options: ConnectionOptions,
  ) {
    super(options);
  }

  /** Wires the pipes; called once by the link that owns this connection. */
  attach(outgoing: Pipe, incoming: Pipe): void {
    this.#outgoing = outgoing;
    this.#incoming = incoming;
  }

  get bufferedAmount(): number {
    return this.#outgoing?.bufferedBytes ?? 0;
  }

  /** The pipe delivered a packet to this end. */
  onPacket(packet: Packet): void {
    switch (packet.kind) {
      case "frame":
        if (packet.frame.byteLength > this.maxFrameBytes) {
          this.abort(new FrameTooLargeError(packet.frame.byteLength, this.maxFrameBytes));
          return;
        }
        this.receive(packet.frame);
        return;
      case "fin":
        // The peer closed gracefully: answer with our own end, then we are done.
        if (this.status === "open") this.#outgoing?.push({ kind: "fin" });
        this.#terminate({ local: this.status !== "open" });
        return;
      case "reset":
        this.#terminate({ local: false, error: packet.error });
        return;
    }
  }

  /** The incoming pipe delivered everything due now: the end of one read. */
  onDeliveryEnd(): void {
    this.receiveComplete();
  }

  /** Bytes of a frame still crossing a bandwidth-limited link arrived. */
  onProgress(): void {
    this.receiveProgress();
  }

  /** Our outgoing pipe handed bytes to the peer: maybe below the low-water mark now. */
  onOutgoingDelivered(): void {
    if (this.#needDrain && this.bufferedAmount <= this.lowWaterMark) {
      this.#needDrain = false;
      this.emitDrain();
    }
  }

  /** The link was reset from outside: both ends see an error close. */
  resetByLink(error: Error): void {
    this.#outgoing?.push({
      kind: "reset",
      error: new ConnectionResetError("connection reset by peer", { cause: error }),
    });
    this.#terminate({ local: false, error });
  }

  protected sendFrame(frame: Uint8Array): boolean {
    // Copied: the sender may reuse its buffer, and the receiver owns what it gets.
    this.#outgoing?.push({ kind: "frame", frame: copyBytes(frame) });
    const ok = this.bufferedAmount < this.highWaterMark;
    if (!ok) this.#needDrain = true;
    return ok;
  }

  protected closeGracefully(): void {
    this.#outgoing?.push({ kind: "fin" });
  }

  protected destroy(error?: Error): void {
    this.#outgoing?.push({ kind: "reset", error: new ConnectionResetError("connection reset by peer") });
    this.#terminate(error === undefined ? { local: true } : { local: true, error });
  }

  protected pauseReading(): void {
    this.#incoming?.setPaused(true);
  }

  protected resumeReading(): void {
    this.#incoming?.setPaused(false);
  }

  #terminate(info: { local: boolean; error?: Error }): void {
    // Stop receiving; our outgoing pipe keeps delivering what is already in it (fin, reset).
    this.#incoming?.close();
    this.finish(info);
  }
}

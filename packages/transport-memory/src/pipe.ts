import type { Clock, TimerHandle } from "@tether/core";

/** What travels through a pipe: a frame, or the end of the stream (a graceful close). */
export type Packet = { kind: "frame"; frame: Uint8Array } | { kind: "fin" } | { kind: "reset"; error: Error };

interface InFlight {
  packet: Packet;
  deliverAt: number;
  bytes: number;
}

/**
 * One direction of a memory link: an ordered queue with latency, loss and a switch that makes
 * everything vanish (a black-hole). Delivery is asynchronous and in order; a paused receiver
 * leaves packets queued, which is what the sender's `bufferedAmount` counts.
 */
export class Pipe {
  latency = 0;
  dropRate = 0;
  blackHoled = false;
  paused = false;
  #queue: InFlight[] = [];
  #head = 0;
  #bytes = 0;
  #lastDeliverAt = Number.NEGATIVE_INFINITY;
  #timer: TimerHandle | undefined;
  #immediate: ReturnType<typeof setImmediate> | undefined;
  #closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly random: () => number,
    private readonly deliver: (packet: Packet) => void,
    /** After the packets one pump delivered: the receiver's end of a read. */
    private readonly onDeliveryEnd: () => void,
    private readonly onBytesDelivered: () => void,
  ) {}

  /** Bytes queued and not yet delivered. */
  get bufferedBytes(): number {
    return this.#bytes;
  }

  push(packet: Packet): void {
    if (this.#closed || this.blackHoled) return;
    if (packet.kind === "frame" && this.dropRate > 0 && this.random() < this.dropRate) return;
    // Never before the packet ahead of it: latency changes cannot reorder a stream.
    const deliverAt = Math.max(this.clock.now() + this.latency, this.#lastDeliverAt);
    this.#lastDeliverAt = deliverAt;
    const bytes = packet.kind === "frame" ? packet.frame.byteLength : 0;
    this.#queue.push({ packet, deliverAt, bytes });
    this.#bytes += bytes;
    this.#schedule();
  }

  /** Drops everything in flight (a black-hole swallows what was on the wire too). */
  discard(): void {
    this.#queue = [];
    this.#head = 0;
    this.#bytes = 0;
    this.onBytesDelivered();
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    if (!paused) this.#schedule();
  }

  /** Stops all delivery for good and releases timers. */
  close(): void {
    this.#closed = true;
    this.#cancel();
    this.#queue = [];
    this.#head = 0;
    this.#bytes = 0;
  }

  #schedule(): void {
    if (this.#closed || this.paused || this.#timer !== undefined || this.#immediate !== undefined) return;
    const next = this.#queue[this.#head];
    if (next === undefined) return;
    const wait = next.deliverAt - this.clock.now();
    if (wait > 0) {
      this.#timer = this.clock.setTimeout(() => {
        this.#timer = undefined;
        this.#pump();
      }, wait);
    } else {
      // A macrotask, not a microtask: two peers echoing at zero latency must not starve I/O.
      this.#immediate = setImmediate(() => {
        this.#immediate = undefined;
        this.#pump();
      });
    }
  }

  #pump(): void {
    const now = this.clock.now();
    let delivered = false;
    while (!this.#closed && !this.paused) {
      const next = this.#queue[this.#head];
      if (next === undefined || next.deliverAt > now) break;
      this.#queue[this.#head++] = undefined as unknown as InFlight;
      this.#bytes -= next.bytes;
      delivered = true;
      this.deliver(next.packet);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    if (delivered) {
      this.onDeliveryEnd();
      this.onBytesDelivered();
    }
    this.#schedule();
  }

  #cancel(): void {
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
  }
}

import type { Clock, TimerHandle } from "@tether/core";

/** What travels through a pipe: a frame, or the end of the stream (a graceful close). */
export type Packet = { kind: "frame"; frame: Uint8Array } | { kind: "fin" } | { kind: "reset"; error: Error };

interface InFlight {
  packet: Packet;
  deliverAt: number;
  /** When its first bytes reach the far end: before `deliverAt` on a bandwidth-limited link. */
  firstByteAt: number;
  bytes: number;
}

/** While a frame crosses a slow link, the receiver hears that bytes are arriving this often. */
const PROGRESS_EVERY_MS = 100;

/**
 * One direction of a memory link: an ordered queue with latency, a bandwidth limit, loss and a
 * switch that makes everything vanish (a black-hole). Delivery is asynchronous and in order; a
 * paused receiver leaves packets queued, which is what the sender's `bufferedAmount` counts. On
 * a bandwidth-limited link a frame arrives whole when its last byte would, and meanwhile the
 * receiver is told that its bytes are arriving (a transport's read progress).
 */
export class Pipe {
  latency = 0;
  /** Bytes per second on the wire; 0: unlimited. */
  bytesPerSecond = 0;
  /** When the wire has sent everything queued so far. */
  #wireFreeAt = Number.NEGATIVE_INFINITY;
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
    /** Bytes of a frame still crossing the link reached the receiver. */
    private readonly onProgress: () => void = () => {},
  ) {}

  /** Bytes queued and not yet delivered. */
  get bufferedBytes(): number {
    return this.#bytes;
  }

  push(packet: Packet): void {
    if (this.#closed || this.blackHoled) return;
    if (packet.kind === "frame" && this.dropRate > 0 && this.random() < this.dropRate) return;
    const bytes = packet.kind === "frame" ? packet.frame.byteLength : 0;
    const sendStart = Math.max(this.clock.now(), this.#wireFreeAt);
    this.#wireFreeAt = sendStart + (this.bytesPerSecond > 0 ? (bytes * 1000) / this.bytesPerSecond : 0);
    // Never before the packet ahead of it: latency changes cannot reorder a stream.
    const deliverAt = Math.max(this.#wireFreeAt + this.latency, this.#lastDeliverAt);
    this.#lastDeliverAt = deliverAt;
    const firstByteAt = Math.min(deliverAt, sendStart + this.latency);
    this.#queue.push({ packet, deliverAt, firstByteAt, bytes });
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
    const now = this.clock.now();
    const wait = next.deliverAt - now;
    if (wait > 0) {
      // A frame still crossing a slow link: wake when its bytes start arriving, then now and then.
      let at = next.deliverAt;
      if (next.firstByteAt < next.deliverAt) {
        const progressAt = next.firstByteAt > now ? next.firstByteAt : now + PROGRESS_EVERY_MS;
        if (progressAt < next.deliverAt) at = progressAt;
      }
      this.#timer = this.clock.setTimeout(() => {
        this.#timer = undefined;
        const fired = this.clock.now();
        if (fired >= next.firstByteAt && fired < next.deliverAt && !this.paused) this.onProgress();
        this.#pump();
      }, at - now);
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

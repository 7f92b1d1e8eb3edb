import { type Clock, systemClock } from "../clock.js";
import { InvalidArgumentError } from "../errors.js";

const NO_SLOT = -1;
const INITIAL_CAPACITY = 64;
/** Bytes per slot: `prev` and `next` as Int32, then the time as a Float64, in one 16-byte record. */
const SLOT_BYTES = 16;
const INT32S_PER_SLOT = SLOT_BYTES / 4;
const FLOAT64S_PER_SLOT = SLOT_BYTES / 8;
/** Where slot `slot`'s fields sit: `prev` and `next` in the Int32 view, its time in the Float64 one. */
const prevAt = (slot: number): number => slot * INT32S_PER_SLOT;
const nextAt = (slot: number): number => slot * INT32S_PER_SLOT + 1;
const timeAt = (slot: number): number => slot * FLOAT64S_PER_SLOT + 1;
const EMPTY: readonly never[] = Object.freeze([]);
const SLOTS_ON_ELEMENTS = Symbol("slots on elements");

/**
 * Which bucket a deadline of `time` falls in, counted in intervals: the bucket expires at
 * `bucketNumber(time, interval) * interval`, the first boundary after `time`.
 */
export function bucketNumber(time: number, interval: number): number {
  return Math.floor(time / interval) + 1;
}

/**
 * `updateInSlot` for a caller that has proved `slot` holds its element (the `SessionTracker`,
 * whose live sessions are always queued) and computed the bucket time itself: it skips the
 * check of the slot, a read of memory far from the rest. Not part of the package's API.
 */
export let moveQueuedSlot: <E>(queue: ExpiryQueue<E>, slot: number, time: number) => number | null;

/** An element that keeps its own slot in the queue (see {@link ExpiryQueue.withSlotsOnElements}). */
export interface SlottedElement {
  /** Written by the queue only: the element's slot while it is queued, -1 otherwise. */
  expirySlot: number;
}

/** Where the queue finds an element's slot: a map of its own, or the element itself. */
interface SlotIndex<E> {
  readonly size: number;
  get(element: E): number | undefined;
  has(element: E): boolean;
  set(element: E, slot: number): void;
  delete(element: E): void;
}

/**
 * ZooKeeper's ExpiryQueue: elements are kept in buckets `interval` ms wide, keyed by the time
 * at which the whole bucket expires. A touch moves an element to the bucket of
 * `roundToNextInterval(now + timeout)`; `poll()` hands back one whole bucket once its time has
 * come. An element therefore expires in `(lastTouch + timeout, lastTouch + timeout + interval]`,
 * and the server needs one timer for all sessions instead of one per session.
 *
 * Storage: every element has an integer slot, a 16-byte record in one buffer (its `prev` and
 * `next` links and its expiration time), and each bucket is a circular doubly linked list
 * threaded through those links with a sentinel slot of its own. Moving an element between
 * buckets is then an unlink and a link on typed arrays plus one lookup of the element's slot;
 * the target bucket is usually the one the previous touch used, so it is cached. A slot's
 * links and time share one cache line, so with a million elements a move reads memory in few
 * places; the heap cost per element stays near 40 bytes (measured in `bench/expiry-queue`),
 * most of it the element → slot map; elements that can keep their own slot save that too
 * ({@link withSlotsOnElements}).
 */
export class ExpiryQueue<E> {
  readonly #interval: number;
  readonly #clock: Clock;
  #nextExpirationTime: number;

  readonly #slotOf: SlotIndex<E>;
  /** Bucket expiration time → sentinel slot of that bucket's list. */
  readonly #bucketOf = new Map<number, number>();
  #cachedBucketTime = Number.NaN;
  #cachedBucketSlot = NO_SLOT;

  #elements: (E | undefined)[] = [];
  /** The slots' records: `prev` and `next` (see {@link prevAt}, {@link nextAt}). */
  #links = new Int32Array(INITIAL_CAPACITY * INT32S_PER_SLOT);
  /**
   * The same memory as Float64s, for the third field (see {@link timeAt}): for an element
   * slot, its expiration time; for a sentinel, its bucket's time.
   */
  #times = new Float64Array(this.#links.buffer);
  #slotsInUse = 0;
  /** Head of the free-slot list, threaded through the `next` links. */
  #freeSlot = NO_SLOT;

  /** `slots` is for {@link withSlotsOnElements} only. */
  constructor(interval: number, clock: Clock = systemClock, slots?: typeof SLOTS_ON_ELEMENTS) {
    if (!Number.isInteger(interval) || interval <= 0) {
      throw new InvalidArgumentError(`interval must be a positive integer, got ${interval}`);
    }
    this.#interval = interval;
    this.#clock = clock;
    this.#nextExpirationTime = this.#roundToNextInterval(clock.now());
    this.#slotOf =
      slots === SLOTS_ON_ELEMENTS
        ? (new ElementSlots(this.#elements as SlottedElement[]) as SlotIndex<unknown>)
        : new Map<E, number>();
  }

  /**
   * A queue whose elements keep their slot in their own `expirySlot` field, so it holds no map
   * from element to slot: the same behaviour, without a map entry per element. An element
   * belongs to one such queue at a time.
   */
  static withSlotsOnElements<E extends SlottedElement>(
    interval: number,
    clock: Clock = systemClock,
  ): ExpiryQueue<E> {
    return new ExpiryQueue<E>(interval, clock, SLOTS_ON_ELEMENTS);
  }

  /** Number of elements tracked. */
  get size(): number {
    return this.#slotOf.size;
  }

  /** The bucket width in milliseconds. */
  get interval(): number {
    return this.#interval;
  }

  /** The time at which the next bucket is due, i.e. what `poll()` will hand out next. */
  get nextExpirationTime(): number {
    return this.#nextExpirationTime;
  }

  /**
   * Moves `element` to the bucket for `now + timeout` (adding it if new). Returns the new
   * expiration time, or `null` when the element was already in that bucket.
   * `now` may be passed by a caller that reads the clock once for a batch of touches.
   */
  update(element: E, timeout: number, now: number = this.#clock.now()): number | null {
    if (!(timeout >= 0 && timeout !== Number.POSITIVE_INFINITY)) {
      throw new InvalidArgumentError(`timeout must be a finite number >= 0, got ${timeout}`);
    }
    const newTime = this.#roundToNextInterval(now + timeout);
    let slot = this.#slotOf.get(element);
    if (slot === undefined) {
      slot = this.#allocate();
      this.#elements[slot] = element;
      this.#slotOf.set(element, slot);
      this.#times[timeAt(slot)] = newTime;
      this.#linkLast(slot, this.#bucket(newTime));
      return newTime;
    }
    return this.#move(slot, newTime);
  }

  /**
   * The slot `element` occupies, or -1 when it is not tracked. A caller that keeps the slot
   * can touch through {@link updateInSlot} without the lookup that dominates `update` in a
   * large queue. The slot is valid until the element is polled or removed.
   */
  slotOf(element: E): number {
    return this.#slotOf.get(element) ?? NO_SLOT;
  }

  /**
   * `update` by slot: the same result, minus the element lookup. If the slot no longer holds
   * `element` (it left the queue and the slot was reused), this falls back to `update`.
   */
  updateInSlot(slot: number, element: E, timeout: number, now: number = this.#clock.now()): number | null {
    if (this.#elements[slot] !== element || slot < 0) return this.update(element, timeout, now);
    if (!(timeout >= 0 && timeout !== Number.POSITIVE_INFINITY)) {
      throw new InvalidArgumentError(`timeout must be a finite number >= 0, got ${timeout}`);
    }
    return this.#move(slot, this.#roundToNextInterval(now + timeout));
  }

  /** Stops tracking `element`. Returns the expiration time it had, or `null` if unknown. */
  remove(element: E): number | null {
    const slot = this.#slotOf.get(element);
    if (slot === undefined) return null;
    this.#slotOf.delete(element);
    const time = this.#times[timeAt(slot)] as number;
    this.#unlink(slot);
    this.#release(slot);
    return time;
  }

  /** The expiration time of `element`, or `null` if it is not tracked. */
  getExpiration(element: E): number | null {
    const slot = this.#slotOf.get(element);
    return slot === undefined ? null : (this.#times[timeAt(slot)] as number);
  }

  has(element: E): boolean {
    return this.#slotOf.has(element);
  }

  /** Milliseconds until the next bucket is due; 0 when one is due already. */
  getWaitTime(now: number = this.#clock.now()): number {
    return Math.max(0, this.#nextExpirationTime - now);
  }

  /**
   * Before the next expiration time, returns nothing and changes nothing. From then on,
   * removes and returns that one bucket (possibly empty) and moves the cursor one interval
   * on, so a caller that fell behind drains the overdue buckets in order, one per call.
   */
  poll(now: number = this.#clock.now()): Iterable<E> {
    if (now < this.#nextExpirationTime) return EMPTY;
    const time = this.#nextExpirationTime;
    this.#nextExpirationTime = time + this.#interval;
    const sentinel = this.#bucketOf.get(time);
    if (sentinel === undefined) return EMPTY;
    this.#bucketOf.delete(time);
    if (this.#cachedBucketSlot === sentinel) this.#cachedBucketTime = Number.NaN;

    const expired: E[] = [];
    const links = this.#links;
    for (let slot = links[nextAt(sentinel)] as number; slot !== sentinel; ) {
      const following = links[nextAt(slot)] as number;
      const element = this.#elements[slot] as E;
      expired.push(element);
      this.#slotOf.delete(element);
      this.#release(slot);
      slot = following;
    }
    this.#release(sentinel);
    return expired;
  }

  /** A snapshot: expiration time → elements, in time order, non-empty buckets only. */
  getExpiryMap(): Map<number, E[]> {
    const times = [...this.#bucketOf.keys()].sort((a, b) => a - b);
    const map = new Map<number, E[]>();
    for (const time of times) {
      const sentinel = this.#bucketOf.get(time) as number;
      const elements: E[] = [];
      for (
        let slot = this.#links[nextAt(sentinel)] as number;
        slot !== sentinel;
        slot = this.#links[nextAt(slot)] as number
      ) {
        elements.push(this.#elements[slot] as E);
      }
      if (elements.length > 0) map.set(time, elements);
    }
    return map;
  }

  static {
    moveQueuedSlot = (queue, slot, time) => queue.#move(slot, time);
  }

  /** Moves the element in `slot` to the bucket due at `time`; `null` when it is there already. */
  #move(slot: number, time: number): number | null {
    if (this.#times[timeAt(slot)] === time) return null;
    this.#unlink(slot);
    this.#times[timeAt(slot)] = time;
    this.#linkLast(slot, this.#bucket(time));
    return time;
  }

  #roundToNextInterval(time: number): number {
    return bucketNumber(time, this.#interval) * this.#interval;
  }

  /** The sentinel slot of the bucket for `time`, created when missing. */
  #bucket(time: number): number {
    if (time === this.#cachedBucketTime) return this.#cachedBucketSlot;
    let sentinel = this.#bucketOf.get(time);
    if (sentinel === undefined) {
      sentinel = this.#allocate();
      this.#times[timeAt(sentinel)] = time;
      this.#links[prevAt(sentinel)] = sentinel;
      this.#links[nextAt(sentinel)] = sentinel;
      this.#bucketOf.set(time, sentinel);
    }
    this.#cachedBucketTime = time;
    this.#cachedBucketSlot = sentinel;
    return sentinel;
  }

  #linkLast(slot: number, sentinel: number): void {
    const last = this.#links[prevAt(sentinel)] as number;
    this.#links[prevAt(slot)] = last;
    this.#links[nextAt(slot)] = sentinel;
    this.#links[nextAt(last)] = slot;
    this.#links[prevAt(sentinel)] = slot;
  }

  #unlink(slot: number): void {
    const prev = this.#links[prevAt(slot)] as number;
    const next = this.#links[nextAt(slot)] as number;
    this.#links[nextAt(prev)] = next;
    this.#links[prevAt(next)] = prev;
  }

  #allocate(): number {
    const free = this.#freeSlot;
    if (free !== NO_SLOT) {
      this.#freeSlot = this.#links[nextAt(free)] as number;
      return free;
    }
    if (this.#slotsInUse * INT32S_PER_SLOT === this.#links.length) this.#grow();
    return this.#slotsInUse++;
  }

  #release(slot: number): void {
    this.#elements[slot] = undefined;
    this.#links[nextAt(slot)] = this.#freeSlot;
    this.#freeSlot = slot;
  }

  #grow(): void {
    const links = new Int32Array(this.#links.length * 2);
    links.set(this.#links);
    this.#links = links;
    this.#times = new Float64Array(links.buffer);
  }
}

/** The slot index of {@link ExpiryQueue.withSlotsOnElements}: the elements' own fields. */
class ElementSlots<E extends SlottedElement> implements SlotIndex<E> {
  size = 0;
  /** The queue's elements by slot: an element of another queue may carry any slot. */
  readonly #elements: readonly (E | undefined)[];

  constructor(elements: readonly (E | undefined)[]) {
    this.#elements = elements;
  }

  get(element: E): number | undefined {
    const slot = element.expirySlot;
    return slot >= 0 && this.#elements[slot] === element ? slot : undefined;
  }

  has(element: E): boolean {
    return this.get(element) !== undefined;
  }

  set(element: E, slot: number): void {
    if (!this.has(element)) this.size++;
    element.expirySlot = slot;
  }

  delete(element: E): void {
    if (!this.has(element)) return;
    this.size--;
    element.expirySlot = NO_SLOT;
  }
}

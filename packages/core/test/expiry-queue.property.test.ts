import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ExpiryQueue, ManualClock } from "../src/index.js";

/** A direct transcription of ZooKeeper's ExpiryQueue, as the reference model. */
class ReferenceQueue {
  readonly elementTime = new Map<number, number>();
  readonly buckets = new Map<number, Set<number>>();
  next: number;
  constructor(
    readonly interval: number,
    now: number,
  ) {
    this.next = this.round(now);
  }
  round(t: number) {
    return (Math.floor(t / this.interval) + 1) * this.interval;
  }
  update(e: number, timeout: number, now: number): number | null {
    const prev = this.elementTime.get(e);
    const time = this.round(now + timeout);
    if (prev === time) return null;
    if (prev !== undefined) this.buckets.get(prev)?.delete(e);
    const set = this.buckets.get(time) ?? new Set<number>();
    this.buckets.set(time, set);
    set.add(e);
    this.elementTime.set(e, time);
    return time;
  }
  remove(e: number): number | null {
    const prev = this.elementTime.get(e);
    if (prev === undefined) return null;
    this.elementTime.delete(e);
    this.buckets.get(prev)?.delete(e);
    return prev;
  }
  poll(now: number): number[] {
    if (now < this.next) return [];
    const set = this.buckets.get(this.next) ?? new Set();
    this.buckets.delete(this.next);
    this.next += this.interval;
    for (const e of set) this.elementTime.delete(e);
    return [...set];
  }
  expiryMap(): Map<number, number[]> {
    const out = new Map<number, number[]>();
    for (const time of [...this.buckets.keys()].sort((a, b) => a - b)) {
      const set = this.buckets.get(time) as Set<number>;
      if (set.size > 0) out.set(time, [...set]);
    }
    return out;
  }
}

const operation = fc.oneof(
  fc.record({ kind: fc.constant("update" as const), e: fc.nat(15), timeout: fc.nat(5000) }),
  fc.record({ kind: fc.constant("remove" as const), e: fc.nat(15) }),
  fc.record({ kind: fc.constant("poll" as const) }),
  fc.record({ kind: fc.constant("advance" as const), ms: fc.nat(2500) }),
);

/** Element n of a queue under test: the number itself, or an object that keeps its own slot. */
interface Elements<E> {
  queue(interval: number, clock: ManualClock): ExpiryQueue<E>;
  of(n: number): E;
  number(e: E): number;
}

const plain: Elements<number> = {
  queue: (interval, clock) => new ExpiryQueue<number>(interval, clock),
  of: (n) => n,
  number: (e) => e,
};

function slotted(): Elements<{ n: number; expirySlot: number }> {
  const elements = Array.from({ length: 16 }, (_, n) => ({ n, expirySlot: -1 }));
  return {
    queue: (interval, clock) => {
      for (const element of elements) element.expirySlot = -1;
      return ExpiryQueue.withSlotsOnElements(interval, clock);
    },
    of: (n) => elements[n] as { n: number; expirySlot: number },
    number: (e) => e.n,
  };
}

describe.each([
  ["a map of slots", plain as Elements<unknown>],
  ["slots on the elements", slotted() as Elements<unknown>],
])("ExpiryQueue with %s against ZooKeeper's reference model", (_, elements) => {
  it("agrees on every return value, size, cursor and expiry map", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.array(operation, { maxLength: 200 }),
        (interval, start, ops) => {
          const clock = new ManualClock(start);
          const queue = elements.queue(interval, clock);
          const model = new ReferenceQueue(interval, start);
          for (const op of ops) {
            switch (op.kind) {
              case "update":
                expect(queue.update(elements.of(op.e), op.timeout)).toBe(
                  model.update(op.e, op.timeout, clock.now()),
                );
                break;
              case "remove":
                expect(queue.remove(elements.of(op.e))).toBe(model.remove(op.e));
                break;
              case "poll":
                // Buckets keep touch order; the model's Set keeps insertion order too.
                expect([...queue.poll()].map(elements.number)).toEqual(model.poll(clock.now()));
                break;
              case "advance":
                clock.advance(op.ms);
                break;
            }
            expect(queue.size).toBe(model.elementTime.size);
            expect(queue.nextExpirationTime).toBe(model.next);
            expect(queue.getWaitTime()).toBe(Math.max(0, model.next - clock.now()));
          }
          const map = new Map(
            [...queue.getExpiryMap()].map(([time, es]) => [time, [...es].map(elements.number)]),
          );
          expect(map).toEqual(model.expiryMap());
        },
      ),
      { numRuns: 500 },
    );
  });
});

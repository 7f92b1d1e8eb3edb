import { describe, expect, it } from "vitest";
import { ExpiryQueue, InvalidArgumentError, ManualClock } from "../src/index.js";

const INTERVAL = 1000;

function setup(start = 0) {
  const clock = new ManualClock(start);
  const queue = new ExpiryQueue<string>(INTERVAL, clock);
  /** Advances to `time` and polls everything due, returning what expired. */
  const drainUntil = (time: number): string[] => {
    clock.advance(time - clock.now());
    const out: string[] = [];
    while (queue.getWaitTime() === 0) out.push(...queue.poll());
    return out;
  };
  return { clock, queue, drainUntil };
}

describe("ExpiryQueue", () => {
  it("rounds deadlines up to the next interval boundary", () => {
    const { clock, queue } = setup();
    clock.advance(1500);
    expect(queue.update("a", 2000)).toBe(4000); // 3500 → 4000
    clock.advance(500);
    expect(queue.update("b", 2000)).toBe(5000); // exactly 4000 → next bucket, 5000
  });

  it("expires an element inside (touch + timeout, touch + timeout + interval]", () => {
    for (const touch of [0, 1, 250, 999, 1000, 1001, 1999.5]) {
      const { clock, queue, drainUntil } = setup();
      clock.advance(touch);
      queue.update("s", 3000);
      const lowerEdge = touch + 3000;
      const upperEdge = lowerEdge + INTERVAL;
      // Still tracked at the lower edge itself...
      expect(drainUntil(lowerEdge)).toEqual([]);
      expect(queue.has("s")).toBe(true);
      // ...and gone by the upper edge.
      expect(drainUntil(upperEdge)).toEqual(["s"]);
      expect(queue.has("s")).toBe(false);
    }
  });

  it("returns null for a touch that stays in the same bucket", () => {
    const { clock, queue } = setup();
    expect(queue.update("a", 5000)).toBe(6000);
    clock.advance(999);
    expect(queue.update("a", 5000)).toBeNull();
    clock.advance(1);
    expect(queue.update("a", 5000)).toBe(7000);
    expect(queue.getExpiryMap()).toEqual(new Map([[7000, ["a"]]]));
  });

  it("polls nothing before the cursor and leaves the cursor alone", () => {
    const { clock, queue } = setup();
    queue.update("a", 0);
    expect(queue.nextExpirationTime).toBe(1000);
    clock.advance(999);
    expect([...queue.poll()]).toEqual([]);
    expect(queue.nextExpirationTime).toBe(1000);
    expect(queue.getWaitTime()).toBe(1);
    expect(queue.size).toBe(1);
  });

  it("polls one bucket per call when late, moving the cursor one interval each time", () => {
    const { clock, queue } = setup();
    queue.update("a", 0); // bucket 1000
    queue.update("b", 1000); // bucket 2000
    queue.update("c", 2000); // bucket 3000
    clock.advance(10_000);
    expect(queue.getWaitTime()).toBe(0);
    expect([...queue.poll()]).toEqual(["a"]);
    expect(queue.nextExpirationTime).toBe(2000);
    expect([...queue.poll()]).toEqual(["b"]);
    expect(queue.nextExpirationTime).toBe(3000);
    expect([...queue.poll()]).toEqual(["c"]);
    expect(queue.nextExpirationTime).toBe(4000);
    expect([...queue.poll()]).toEqual([]);
    expect(queue.nextExpirationTime).toBe(5000);
    expect(queue.size).toBe(0);
  });

  it("polls all elements of a bucket in touch order", () => {
    const { clock, queue } = setup();
    for (const e of ["x", "y", "z"]) queue.update(e, 500);
    clock.advance(1000);
    expect([...queue.poll()]).toEqual(["x", "y", "z"]);
  });

  it("removes elements and reports their old time", () => {
    const { clock, queue } = setup();
    queue.update("a", 1500);
    expect(queue.remove("a")).toBe(2000);
    expect(queue.remove("a")).toBeNull();
    expect(queue.size).toBe(0);
    clock.advance(5000);
    expect([...queue.poll()]).toEqual([]);
    expect([...queue.poll()]).toEqual([]);
  });

  it("forgets polled elements, so a re-touch after poll adds them afresh", () => {
    const { clock, queue } = setup();
    queue.update("a", 0);
    clock.advance(1000);
    expect([...queue.poll()]).toEqual(["a"]);
    expect(queue.has("a")).toBe(false);
    expect(queue.getExpiration("a")).toBeNull();
    expect(queue.remove("a")).toBeNull();
    expect(queue.update("a", 0)).toBe(2000);
    expect(queue.size).toBe(1);
  });

  it("keeps getExpiryMap sorted and free of emptied buckets", () => {
    const { queue } = setup();
    queue.update("late", 5000);
    queue.update("early", 1000);
    queue.update("gone", 3000);
    queue.remove("gone");
    expect([...queue.getExpiryMap()]).toEqual([
      [2000, ["early"]],
      [6000, ["late"]],
    ]);
  });

  it("reuses slots: a million touches on a few elements keep the map exact", () => {
    const { clock, queue } = setup();
    for (let i = 0; i < 200_000; i++) {
      queue.update(`e${i % 7}`, (i % 5) * 1000);
      if (i % 1000 === 0) clock.advance(137);
      if (i % 3000 === 0) while (queue.getWaitTime() === 0) queue.poll();
    }
    const tracked = [...queue.getExpiryMap().values()].flat();
    expect(tracked.length).toBe(queue.size);
    expect(new Set(tracked).size).toBe(queue.size);
  });

  it("keeps every element's bucket, time and order as it grows past its first capacity", () => {
    const { queue, drainUntil } = setup();
    const count = 10_000;
    const e = (i: number) => `e${i}`;
    const bucketOf = (i: number) => (i % 100) + 1 + (i % 2 === 1 ? 50 : 0);
    // Element i lands in bucket i % 100 + 1; every element after the first few grows the storage.
    for (let i = 0; i < count; i++) queue.update(e(i), (i % 100) * INTERVAL);
    // Then the odd ones move 50 buckets on, to the end of buckets that hold even ones already.
    for (let i = 1; i < count; i += 2) queue.update(e(i), (bucketOf(i) - 1) * INTERVAL);
    for (let i = 0; i < count; i++) expect(queue.getExpiration(e(i))).toBe(bucketOf(i) * INTERVAL);
    for (let bucket = 1; bucket <= 150; bucket++) {
      const stayed: string[] = [];
      const moved: string[] = [];
      for (let i = 0; i < count; i++) if (bucketOf(i) === bucket) (i % 2 === 0 ? stayed : moved).push(e(i));
      expect(drainUntil(bucket * INTERVAL)).toEqual([...stayed, ...moved]);
    }
    expect(queue.size).toBe(0);
  });

  it("rejects bad intervals and timeouts with a typed error", () => {
    const clock = new ManualClock();
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new ExpiryQueue(bad, clock)).toThrow(InvalidArgumentError);
    }
    const queue = new ExpiryQueue<string>(10, clock);
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => queue.update("a", bad)).toThrow(InvalidArgumentError);
    }
    expect(queue.size).toBe(0);
  });

  it("starts its cursor at the first boundary after construction", () => {
    const { queue } = setup(12_345);
    expect(queue.nextExpirationTime).toBe(13_000);
    expect(queue.getWaitTime()).toBe(655);
  });
});

describe("ExpiryQueue slot path", () => {
  it("updateInSlot gives the same results as update", () => {
    const { clock, queue } = setup();
    queue.update("a", 3000);
    const slot = queue.slotOf("a");
    expect(slot).toBeGreaterThanOrEqual(0);
    expect(queue.slotOf("missing")).toBe(-1);
    clock.advance(500);
    expect(queue.updateInSlot(slot, "a", 3000)).toBeNull();
    clock.advance(600);
    expect(queue.updateInSlot(slot, "a", 3000)).toBe(5000);
    expect(queue.getExpiryMap()).toEqual(new Map([[5000, ["a"]]]));
  });

  it("falls back to update when the slot was reused by another element", () => {
    const { clock, queue } = setup();
    queue.update("a", 0);
    const slotOfA = queue.slotOf("a");
    clock.advance(1000);
    expect([...queue.poll()]).toEqual(["a"]);
    queue.update("b", 5000); // "b" and its bucket take the two freed slots
    expect(queue.updateInSlot(slotOfA, "a", 2000)).toBe(4000);
    expect(queue.getExpiryMap()).toEqual(
      new Map([
        [4000, ["a"]],
        [7000, ["b"]],
      ]),
    );
    expect(() => queue.updateInSlot(queue.slotOf("b"), "b", -5)).toThrow(InvalidArgumentError);
  });

  it("with slots on the elements, tells its own elements from another queue's", () => {
    const clock = new ManualClock(0);
    const mine = ExpiryQueue.withSlotsOnElements<{ expirySlot: number }>(1000, clock);
    const theirs = ExpiryQueue.withSlotsOnElements<{ expirySlot: number }>(1000, clock);
    const a = { expirySlot: -1 };
    const b = { expirySlot: -1 };
    theirs.update(a, 1000);
    mine.update(b, 1000);
    // Both hold slot 0 of their own queue: the slot alone does not make a member.
    expect(a.expirySlot).toBe(b.expirySlot);
    expect(mine.has(a)).toBe(false);
    expect(mine.remove(a)).toBeNull();
    expect(theirs.has(a)).toBe(true);
    expect(mine.size).toBe(1);
    clock.advance(2000);
    expect([...mine.poll()]).toEqual([]); // the bucket of 1000
    expect([...mine.poll()]).toEqual([b]);
    expect(b.expirySlot).toBe(-1);
    expect(mine.size).toBe(0);
  });
});

import { describe, expect, it } from "vitest";
import { InvalidArgumentError, ManualClock, systemClock } from "../src/index.js";

describe("ManualClock", () => {
  it("starts at the given time and moves only on advance", () => {
    const clock = new ManualClock(1000);
    expect(clock.now()).toBe(1000);
    clock.advance(250);
    expect(clock.now()).toBe(1250);
  });

  it("fires due timers in deadline order, reading each deadline as now", () => {
    const clock = new ManualClock();
    const fired: Array<[string, number]> = [];
    clock.setTimeout(() => fired.push(["c", clock.now()]), 30);
    clock.setTimeout(() => fired.push(["a", clock.now()]), 10);
    clock.setTimeout(() => fired.push(["b", clock.now()]), 20);
    clock.setTimeout(() => fired.push(["late", clock.now()]), 31);
    clock.advance(30);
    expect(fired).toEqual([
      ["a", 10],
      ["b", 20],
      ["c", 30],
    ]);
    expect(clock.pendingTimers).toBe(1);
  });

  it("fires timers with equal deadlines in the order they were set", () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    for (let i = 0; i < 5; i++) clock.setTimeout(() => fired.push(i), 5);
    clock.advance(5);
    expect(fired).toEqual([0, 1, 2, 3, 4]);
  });

  it("fires timers scheduled by timers inside the advanced window", () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    const tick = () => {
      fired.push(clock.now());
      clock.setTimeout(tick, 100);
    };
    clock.setTimeout(tick, 100);
    clock.advance(350);
    expect(fired).toEqual([100, 200, 300]);
    expect(clock.now()).toBe(350);
    expect(clock.nextTimerAt()).toBe(400);
  });

  it("does not fire cleared timers and tolerates double clears", () => {
    const clock = new ManualClock();
    let fired = 0;
    const handle = clock.setTimeout(() => fired++, 10);
    clock.clearTimeout(handle);
    clock.clearTimeout(handle);
    clock.advance(100);
    expect(fired).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it("does not grow without bound when most timers are cleared", () => {
    const clock = new ManualClock();
    let handle = clock.setTimeout(() => {}, 1_000_000);
    for (let i = 0; i < 10_000; i++) {
      clock.clearTimeout(handle);
      handle = clock.setTimeout(() => {}, 1_000_000 + i);
    }
    expect(clock.pendingTimers).toBe(1);
    expect(clock.nextTimerAt()).toBe(1_000_000 + 9_999);
  });

  it("treats negative delays as zero", () => {
    const clock = new ManualClock(50);
    let at = -1;
    clock.setTimeout(() => {
      at = clock.now();
    }, -20);
    clock.advance(0);
    expect(at).toBe(50);
  });

  it("rejects backwards or non-finite advances", () => {
    const clock = new ManualClock();
    expect(() => clock.advance(-1)).toThrow(InvalidArgumentError);
    expect(() => clock.advance(Number.NaN)).toThrow(InvalidArgumentError);
    expect(() => clock.advance(Number.POSITIVE_INFINITY)).toThrow(InvalidArgumentError);
  });

  it("advanceAsync lets promise chains run between timers", async () => {
    const clock = new ManualClock();
    const seen: number[] = [];
    const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
    const loop = (async () => {
      for (let i = 0; i < 3; i++) {
        await sleep(10);
        seen.push(clock.now());
      }
    })();
    await clock.advanceAsync(30);
    await loop;
    expect(seen).toEqual([10, 20, 30]);
  });
});

describe("systemClock", () => {
  it("is monotonic and runs timers", async () => {
    const a = systemClock.now();
    const b = systemClock.now();
    expect(b).toBeGreaterThanOrEqual(a);
    const fired = await new Promise<boolean>((resolve) => {
      systemClock.setTimeout(() => resolve(true), 1);
    });
    expect(fired).toBe(true);
    let cleared = true;
    const handle = systemClock.setTimeout(() => {
      cleared = false;
    }, 1);
    systemClock.clearTimeout(handle);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(cleared).toBe(true);
  });
});

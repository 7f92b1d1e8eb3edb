import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backoffDelay } from "../src/index.js";
import { shuffled } from "../src/session/backoff.js";

describe("backoffDelay", () => {
  it("doubles its ceiling per attempt up to the cap, with full jitter", () => {
    const top = () => 0.999999;
    expect(backoffDelay(0, { initial: 100, max: 1000 }, top)).toBeCloseTo(100, 2);
    expect(backoffDelay(1, { initial: 100, max: 1000 }, top)).toBeCloseTo(200, 2);
    expect(backoffDelay(3, { initial: 100, max: 1000 }, top)).toBeCloseTo(800, 2);
    expect(backoffDelay(4, { initial: 100, max: 1000 }, top)).toBeCloseTo(1000, 2);
    expect(backoffDelay(500, { initial: 100, max: 1000 }, top)).toBeCloseTo(1000, 2);
    expect(backoffDelay(3, { initial: 100, max: 1000 }, () => 0)).toBe(0);
  });

  it("stays within [0, max] for any attempt and randomness", () => {
    fc.assert(
      fc.property(
        fc.nat(10_000),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, r) => {
          const delay = backoffDelay(attempt, { initial: 50, max: 5000 }, () => r);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(5000);
        },
      ),
    );
  });
});

describe("shuffled", () => {
  it("returns a permutation and leaves the input alone", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer()),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (items, r) => {
          const copy = [...items];
          const out = shuffled(items, () => r);
          expect(items).toEqual(copy);
          expect([...out].sort()).toEqual([...items].sort());
        },
      ),
    );
  });
});

import { ManualClock } from "@tether/core";
import { describe, expect, it } from "vitest";
import { startSimulation } from "./simulation.js";

/** Deterministic PRNG so the test is repeatable. */
function mulberry32(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("expiry demo simulation", () => {
  it("expires exactly the clients that fell silent, within their timeout plus one tick", () => {
    const clock = new ManualClock();
    const tickTime = 200;
    const sim = startSimulation({ clock, tickTime, sessions: 40, silentShare: 0.4, random: mulberry32(7) });
    clock.advance(30_000);
    const expired = sim.events.filter((e) => e.kind === "expired").map((e) => e.session);
    const closed = sim.events.filter((e) => e.kind === "closed").map((e) => e.session);
    expect(closed).toHaveLength(1);
    expect(new Set(expired)).toEqual(new Set([...sim.silentAt.keys()].filter((id) => !closed.includes(id))));
    expect(sim.tracker.size).toBe(40 - expired.length - 1);
    sim.stop();
    expect(clock.pendingTimers).toBe(0);
  });
});

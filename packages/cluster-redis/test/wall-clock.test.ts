import { wallClock } from "@tether/cluster-redis";
import { afterEach, describe, expect, it, vi } from "vitest";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the cluster's wall clock", () => {
  it("follows a step of the system clock, so a process started before it agrees with one started after", () => {
    // NTP steps the clock an hour forward: every process reading the time now must see it.
    const stepped = Date.now() + 3_600_000;
    vi.spyOn(Date, "now").mockReturnValue(stepped);
    expect(Math.abs(wallClock.now() - stepped)).toBeLessThan(50);
  });
});

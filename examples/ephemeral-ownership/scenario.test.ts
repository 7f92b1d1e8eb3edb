import { ManualClock } from "@tether/core";
import { describe, expect, it } from "vitest";
import { runScenario } from "./scenario.js";

describe("ephemeral ownership example", () => {
  it("frees a dead owner's key within T + tickTime, notifies the watcher, and lets it take over", async () => {
    const clock = new ManualClock();
    const lines: string[] = [];
    const result = await runScenario(
      clock,
      (ms) => clock.advanceAsync(ms),
      (line) => lines.push(line),
    );
    expect(result.bobLeads).toBe(true);
    expect(result.leader).toBe("bob");
    expect(result.aliceState).toBe("expired");
    expect(result.freedAfter).toBeLessThanOrEqual(3000 + 500 + 100);
    expect(result.events.map((e) => e.owner === null)).toEqual([true, false]);
    expect(lines.some((l) => l.includes("expired"))).toBe(true);
  });
});

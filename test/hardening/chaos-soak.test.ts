import { describe, it } from "vitest";
import { chaosSoak } from "../support/chaos-soak.js";

describe("chaos soak (memory transport, ManualClock)", () => {
  it("keeps every guarantee through black-holes, resets, partitions, latency and drops", async () => {
    console.log(await chaosSoak({ chaosMs: 60_000 }));
  }, 120_000);
});

// The in-process store (the default) against the store conformance suite.
import { ManualClock, memorySessionStore } from "@tether/core";
import { describeStoreConformance } from "@tether/store-conformance";

describeStoreConformance({
  name: "in-process store",
  setup: () => {
    const clock = new ManualClock();
    return {
      clock,
      store: () => memorySessionStore,
      advance: async (ms) => {
        for (let left = ms; left > 0; left -= 50) await clock.advanceAsync(Math.min(50, left));
        if (ms === 0) await clock.advanceAsync(0);
      },
      expiryLag: 0,
    };
  },
});

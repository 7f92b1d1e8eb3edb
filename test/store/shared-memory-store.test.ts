// The shared store's engine on the in-process backend against the store conformance suite,
// with its replies spoiled by the fault wrapper and the backend wiped; and its request primitives
// against their contract.
import { ManualClock, MemorySessionBackend, SharedSessionStore } from "@tether/core";
import { describeRequestContract, describeStoreConformance, FaultyBackend } from "@tether/store-conformance";

describeStoreConformance({
  name: "shared store on the in-process backend",
  setup: () => {
    const clock = new ManualClock();
    const backend = new MemorySessionBackend();
    const faults = new FaultyBackend(backend);
    return {
      clock,
      store: () => (context) => new SharedSessionStore(context, faults),
      advance: async (ms) => {
        for (let left = ms; left > 0; left -= 50) await clock.advanceAsync(Math.min(50, left));
        if (ms === 0) await clock.advanceAsync(0);
      },
      // Touches reach the backend once a tick, and a claim waits a tick past the deadline.
      expiryLag: 500,
      wipe: async () => backend.wipe(),
      faults: () => faults,
    };
  },
});

describeRequestContract({ name: "in-process backend", backend: () => new MemorySessionBackend() });

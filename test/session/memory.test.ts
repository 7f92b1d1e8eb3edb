import { ManualClock } from "@tether/core";
import { createMemoryNetwork } from "@tether/transport-memory";
import { describeSessionSuite } from "./session-suite.js";

let names = 0;

describeSessionSuite({
  name: "memory (ManualClock)",
  setup: () => {
    const clock = new ManualClock();
    const network = createMemoryNetwork({ clock });
    return {
      clock,
      manual: true,
      slack: 0,
      tickTime: 1000,
      timeout: 6000,
      network,
      transport: () => network.transport(),
      listenAddress: () => `server-${++names}`,
      advance: (ms) => clock.advanceAsync(ms),
    };
  },
});

import { DEFAULT_MAX_FRAME_BYTES } from "@tether/core";
import { describeTransportConformance } from "@tether/transport-conformance";
import { createMemoryNetwork } from "../src/index.js";

let names = 0;

describeTransportConformance({
  name: "memory",
  setup: () => {
    const network = createMemoryNetwork();
    return {
      transport: (overrides) => network.transport(overrides),
      listenAddress: () => `server-${++names}`,
      maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
      abortIsVisible: true,
      closedAddress: async () => "nobody-listens-here",
      unresponsiveAddress: async () => {
        const address = `partitioned-${++names}`;
        await network.transport().listen(address, () => {});
        network.partition(address);
        return address;
      },
    };
  },
});

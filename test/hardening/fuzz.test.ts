import { createMemoryNetwork } from "@tether/transport-memory";
import { tcp } from "@tether/transport-tcp";
import { webSocket } from "@tether/transport-ws";
import { fuzzOver } from "../support/protocol-fuzz.js";

const network = createMemoryNetwork();
let names = 0;
fuzzOver(
  "memory",
  (maxFrameBytes) => network.transport({ maxFrameBytes }),
  () => `fuzz-${++names}`,
  20_000,
);
fuzzOver(
  "tcp",
  (maxFrameBytes) => tcp({ maxFrameBytes }),
  () => "127.0.0.1:0",
  400,
);
fuzzOver(
  "ws",
  (maxFrameBytes) => webSocket({ maxFrameBytes }),
  () => "127.0.0.1:0",
  400,
);

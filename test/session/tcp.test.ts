import { systemClock } from "@tether/core";
import { tcp } from "@tether/transport-tcp";
import { describeSessionSuite } from "./session-suite.js";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describeSessionSuite({
  name: "tcp (real time)",
  setup: () => ({
    clock: systemClock,
    manual: false,
    slack: 30,
    tickTime: 25,
    timeout: 240,
    transport: () => tcp(),
    listenAddress: () => "127.0.0.1:0",
    advance: sleep,
  }),
});

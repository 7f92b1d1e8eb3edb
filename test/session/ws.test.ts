import { systemClock } from "@tether/core";
import { webSocket } from "@tether/transport-ws";
import { describeSessionSuite } from "./session-suite.js";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describeSessionSuite({
  name: "ws (real time)",
  setup: () => ({
    clock: systemClock,
    manual: false,
    slack: 30,
    tickTime: 25,
    timeout: 240,
    transport: () => webSocket(),
    listenAddress: () => "127.0.0.1:0",
    advance: sleep,
  }),
});

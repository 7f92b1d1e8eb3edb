import { tcp } from "@tether/transport-tcp";
import { describeSessionSuite, realTimeEnv } from "./session-suite.js";

describeSessionSuite({ name: "tcp (real time)", setup: () => realTimeEnv(() => tcp()) });

import { webSocket } from "@tether/transport-ws";
import { describeSessionSuite, realTimeEnv } from "./session-suite.js";

describeSessionSuite({ name: "ws (real time)", setup: () => realTimeEnv(() => webSocket()) });

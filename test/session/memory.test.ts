import { describeSessionSuite, manualMemoryEnv } from "./session-suite.js";

describeSessionSuite({ name: "memory (ManualClock)", setup: () => manualMemoryEnv() });

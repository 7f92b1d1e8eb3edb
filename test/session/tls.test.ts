import { systemClock } from "@tether/core";
import { tls } from "@tether/transport-tcp";
import { testCertificate } from "../support/certificate.js";
import { describeSessionSuite } from "./session-suite.js";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describeSessionSuite({
  name: "tls (real time)",
  setup: async () => {
    const { key, cert } = await testCertificate();
    return {
      clock: systemClock,
      manual: false,
      slack: 30,
      tickTime: 25,
      timeout: 240,
      transport: () => tls({ server: { key, cert }, client: { ca: cert, servername: "localhost" } }),
      listenAddress: () => "127.0.0.1:0",
      advance: sleep,
    };
  },
});

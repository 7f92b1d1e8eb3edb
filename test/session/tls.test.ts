import { tls } from "@tether/transport-tcp";
import { testCertificate } from "../support/certificate.js";
import { describeSessionSuite, realTimeEnv } from "./session-suite.js";

describeSessionSuite({
  name: "tls (real time)",
  setup: async () => {
    const { key, cert } = await testCertificate();
    return realTimeEnv(() => tls({ server: { key, cert }, client: { ca: cert, servername: "localhost" } }));
  },
});

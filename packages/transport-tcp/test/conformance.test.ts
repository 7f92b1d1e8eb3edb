import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_MAX_FRAME_BYTES } from "@tether/core";
import { describeTransportConformance } from "@tether/transport-conformance";
import { testCertificate } from "../../../test/support/certificate.js";
import { stalledListener } from "../../../test/support/stalled-listener.js";
import { tcp, tls } from "../src/index.js";

/** A port that was just free: bind port 0, note it, close. */
async function closedPort(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `127.0.0.1:${port}`;
}

describeTransportConformance({
  name: "tcp",
  setup: () => {
    const stalled: Array<{ close(): Promise<void> }> = [];
    return {
      transport: (overrides) => tcp(overrides),
      listenAddress: () => "127.0.0.1:0",
      abortIsVisible: true,
      maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
      closedAddress: closedPort,
      unresponsiveAddress: async () => {
        const listener = await stalledListener();
        stalled.push(listener);
        return listener.address;
      },
      teardown: async () => {
        for (const listener of stalled) await listener.close();
      },
    };
  },
});

describeTransportConformance({
  name: "tcp over ::1",
  setup: () => ({
    transport: (overrides) => tcp(overrides),
    listenAddress: () => "[::1]:0",
    abortIsVisible: true,
    maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
    closedAddress: closedPort,
  }),
});

describeTransportConformance({
  name: "tcp over a unix socket",
  setup: () => {
    const dir = mkdtempSync(join(tmpdir(), "tether-"));
    let sockets = 0;
    return {
      transport: (overrides) => tcp(overrides),
      listenAddress: () => join(dir, `listen-${++sockets}.sock`),
      abortIsVisible: false,
      peerKeyPerConnection: true,
      maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
      closedAddress: async () => join(dir, "nobody.sock"),
      teardown: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
});

describeTransportConformance({
  name: "tls",
  setup: async () => {
    const { key, cert } = await testCertificate();
    const silent: net.Server[] = [];
    const silentSockets: net.Socket[] = [];
    return {
      transport: (overrides) =>
        tls({ ...overrides, server: { key, cert }, client: { ca: cert, servername: "localhost" } }),
      listenAddress: () => "127.0.0.1:0",
      abortIsVisible: false, // Node cannot reset the TCP socket under TLS
      maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
      closedAddress: closedPort,
      // Accepts TCP but never answers the TLS handshake, so the dial cannot complete.
      unresponsiveAddress: async () => {
        const server = net.createServer((socket) => silentSockets.push(socket));
        silent.push(server);
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        return `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
      },
      teardown: async () => {
        for (const socket of silentSockets) socket.destroy();
        for (const server of silent) await new Promise((resolve) => server.close(resolve));
      },
    };
  },
});
